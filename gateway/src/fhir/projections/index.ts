export { auditEventResource, QUERY_HASH_DESCRIPTION } from './audit-event';
export * from './audit-event-codes';
export * from './references';
export { searchsetBundle } from './searchset';
