export * from './mailbox-error';
export * from './mailbox-router';
export * from './mailbox-store';
export { MAX_WAIT_SECONDS } from './fetch-query';
