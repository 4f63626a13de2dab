export * from './configtx';
export * from './network-state';
export * from './shell-env';
export * from './topology';
export * from './gateway-config';
export * from './agent-profile';
export * from './fabric-release';
export * from './members';
