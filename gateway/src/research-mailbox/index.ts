export * from './extract-mailbox-routes';
export * from './extract-mailbox-store';
