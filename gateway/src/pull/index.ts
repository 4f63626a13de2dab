export * from './pull-ledger';
export * from './pull-search';
export * from './pull-store';
export * from './pull-service';
export * from './pull-routes';
export * from './pull-bundle';
export * from './consent-cache';
export * from './consent-feed';
