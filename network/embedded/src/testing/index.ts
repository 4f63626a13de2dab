// The embedded network's test helpers for other workspaces' tests (`@phr/embedded-fabric/testing`):
// test organisations with MSP folders, a test channel, test CAs and CRLs, config update helpers.
export {
  CHANNEL_ID,
  MAJORITY_OF_HOSPITALS,
  PROFILE,
  TestChannel,
  TestOrg,
  createTestOrg,
  silentLogger,
  type TestChannelOptions,
} from './channel';
export {
  applicationGroup,
  applicationOrgGroup,
  cloneConfig,
  configUpdateTx,
  signConfigUpdate,
  withApplicationOrg,
  withApplicationPolicies,
} from './config-updates';
export { freePort } from './ports';
export { TestCa, keyPem, newKey, type CertificateOptions, type Curve, type IssuedCertificate } from './pki';
