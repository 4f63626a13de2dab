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
  ],
};
