export * from './gateway-transport';
export * from './https-gateway-transport';
export * from './transport-error';
