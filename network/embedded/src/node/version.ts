/** The Fabric release whose wire protocols the embedded network speaks. */
export const FABRIC_WIRE_VERSION = '3.1.5';
/** The Fabric CA release whose REST API the embedded CA speaks. */
export const FABRIC_CA_WIRE_VERSION = '1.5.21';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../package.json') as { version: string };

/** What `/version` and `make network-status` print for an embedded node. */
export const EMBEDDED_VERSION = `embedded ${pkg.version} (Fabric ${FABRIC_WIRE_VERSION} protocols)`;
