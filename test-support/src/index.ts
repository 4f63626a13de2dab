/**
 * Test helpers used by more than one workspace, in one place instead of imports into another
 * package's tests. Only tests depend on this package. This entry point is light (a test PKI, the
 * fixtures, the patient's page in a browser); the real gateway on the in-memory chaincode, which
 * loads the whole gateway, is `@phr/test-support/gateway`.
 */
export * from './pki';
export * from './fixtures';
export * from './registered-patient';
export { CHROMIUM_PATH, launchChromium } from './browser';
export * from './ui-page';
export * from './accessibility';
export { TEST_KEYSTORE } from './agent-keystore';
