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
    project('gateway', {
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
      transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
      },
    }),
    project('mobile-agent', {
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
      transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
      },
    }),
    project('requester', {
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
      transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
      },
    }),
    {
      // Integration: the real gateway over HTTPS with fhir-kit-client; the ledger is the real chaincode in memory.
      displayName: 'gateway-integration',
      rootDir: '<rootDir>/gateway',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testEnvironment: 'node',
      setupFiles: ['<rootDir>/../chaincode/jest.setup.ts'],
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
      // ES-module-only packages compiled to CommonJS for jest
      transformIgnorePatterns: ['/node_modules/(?!(@noble/|fhir-kit-client/))'],
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
        // it declares only an "import" export condition, which jest's CommonJS resolver does not take
        '^fhir-kit-client$': '<rootDir>/../node_modules/fhir-kit-client/dist/index.js',
      },
    },
    {
      // Integration: patients' agents over HTTPS against the real gateway; the ledger is the real chaincode in memory.
      displayName: 'agent-integration',
      rootDir: '<rootDir>/mobile-agent',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testEnvironment: 'node',
      setupFiles: ['<rootDir>/../chaincode/jest.setup.ts'],
      transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }] },
      transformIgnorePatterns: ['/node_modules/(?!(@noble/|fhir-kit-client/))'],
      moduleNameMapper: {
        '^@phr/common$': '<rootDir>/../common/src/index.ts',
        '^@phr/ledger-client$': '<rootDir>/../ledger-client/src/index.ts',
        '^fhir-kit-client$': '<rootDir>/../node_modules/fhir-kit-client/dist/index.js',
      },
    },
  ],
};
