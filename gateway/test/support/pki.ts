/**
 * The test CA (Fabric-shaped certificates for identities and TLS). One implementation, kept in the
 * requester's testing folder because the pull benchmark needs it compiled.
 */
export { makeCa, type Issued, type TestCa } from '../../../requester/src/testing/pki';
