export * from './vault-types';
export * from './sqlite-vault';
