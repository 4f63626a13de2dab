/** Unit tests: beside the code, no network. The end-to-end suite has its own config (network/e2e). */
const project = (name, extra = {}) => ({
  displayName: name,
  rootDir: `<rootDir>/${name}`,
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: `<rootDir>/tsconfig.json` }] },
  moduleNameMapper: { '^@phr/common$': '<rootDir>/../common/src/index.ts' },
  ...extra,
});

/** Workspaces whose code imports @phr/common and @phr/ledger-client from source. */
const workspaceSources = {
  '^@phr/common$': '<rootDir>/../common/src/index.ts',
  '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
  // what tests use of other workspaces, through their declared entry points
  '^@phr/chaincode$': '<rootDir>/../chaincode/src/index.ts',
  '^@phr/chaincode/testing$': '<rootDir>/../chaincode/src/testing/index.ts',
  '^@phr/gateway$': '<rootDir>/../gateway/src/index.ts',
  '^@phr/gateway/internal$': '<rootDir>/../gateway/src/internal.ts',
  '^@phr/test-support$': '<rootDir>/../test-support/src/index.ts',
  '^@phr/test-support/gateway$': '<rootDir>/../test-support/src/gateway.ts',
};

/** Packages that reach Fabric Gateway: fabric-gateway needs @noble/curves, which ships ES modules only. */
const sourceProject = {
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  moduleNameMapper: workspaceSources,
};

/** Integration tests in `<dir>/test`: real HTTPS servers, the real chaincode on the in-memory ledger. */
const integration = (displayName, dir) => ({
  displayName,
  rootDir: `<rootDir>/${dir}`,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/../chaincode/jest.setup.ts'],
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
  // ES-module-only packages compiled to CommonJS for jest
  transformIgnorePatterns: ['/node_modules/(?!(@noble/|fhir-kit-client/))'],
  moduleNameMapper: {
    ...workspaceSources,
    // it declares only an "import" export condition, which jest's CommonJS resolver does not take
    '^fhir-kit-client$': '<rootDir>/../node_modules/fhir-kit-client/dist/index.js',
  },
});

module.exports = {
  projects: [
    project('common'),
    project('ledger-client', {
      // fabric-gateway needs @noble/curves, which ships ES modules only
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
      transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
    }),
    project('chaincode', { setupFiles: ['<rootDir>/jest.setup.ts'] }),
    project('network'),
    // The embedded network: its nodes' rules on real SQLite files, gRPC and HTTPS on loopback.
    project('network/embedded', {
      ...sourceProject,
      displayName: 'embedded-fabric',
      // two levels below the root, so the workspace sources are two levels up
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../../ledger-client/src/index.ts',
      },
    }),
    project('gateway', sourceProject),
    project('mobile-agent', sourceProject),
    project('requester', sourceProject),
    // The real gateway over HTTPS with fhir-kit-client; the ledger is the real chaincode in memory.
    integration('gateway-integration', 'gateway'),
    // Patients' agents over HTTPS against the real gateway; the ledger is the real chaincode in memory.
    integration('agent-integration', 'mobile-agent'),
    // The researcher's CLI against the real gateway; the ledger is the real chaincode in memory.
    integration('requester-integration', 'requester'),
    // The benchmarks' own statistics and block decoding.
    project('bench'),
  ],
};
