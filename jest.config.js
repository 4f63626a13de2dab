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
  projects: [project('common'), project('chaincode', { setupFiles: ['<rootDir>/jest.setup.ts'] }), project('network')],
};
