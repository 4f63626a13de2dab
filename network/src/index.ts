export * from './configtx';
export * from './shell-env';
export * from './topology';
