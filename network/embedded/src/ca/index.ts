// The embedded Fabric CA's public face: the server (started by main.ts, or in-process by tests),
// where it keeps its files, and its errors.
export { CaServer, CA_DATABASE_FILE, type CaServerOptions } from './ca-server';
export { FABRIC_CA_VERSION, type CaEvent } from './certificate-authority';
export { caPaths } from './ca-files';
export { CaErrorCode, CaSetupError, FabricCaError } from './errors';
