/** End-to-end: one real network per run, started in globalSetup and wiped in globalTeardown. */
module.exports = {
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/**/*.e2e.test.ts'],
  testEnvironment: 'node',
  // fabric-gateway needs @noble/curves, which ships ES modules only: let ts-jest compile it to CommonJS.
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  transformIgnorePatterns: ['/node_modules/(?!(@noble/|fhir-kit-client/))'],
  // fhir-kit-client declares only an "import" export condition, which jest's CommonJS resolver does not take
  moduleNameMapper: { '^fhir-kit-client$': '<rootDir>/../../node_modules/fhir-kit-client/dist/index.js' },
  globalSetup: '<rootDir>/global-setup.ts',
  globalTeardown: '<rootDir>/global-teardown.ts',
  testTimeout: 180_000,
};
