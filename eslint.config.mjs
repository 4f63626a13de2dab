// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Test files: doubles implement async interfaces without awaiting, and JSON answers are read as `any`. */
const TEST_FILES = [
  '**/*.test.ts',
  'test-support/**/*.ts',
  '**/test/**/*.ts',
  '**/e2e/**/*.ts',
  '**/testing/**/*.ts',
  'fixtures/**/*.ts',
];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '.tools/**',
      'network/.state/**',
      'coverage/**',
      'test-results/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  eslint.configs.recommended,
  // Type-checked: floating promises, unsafe `any`, needless assertions and the like are caught with types.
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // chaincode's jest setup file is outside chaincode/tsconfig.json (rootDir src): checked with the base options.
        projectService: { allowDefaultProject: ['chaincode/jest.setup.ts'], defaultProject: 'tsconfig.base.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      // A warning, not an error: the functions above it are the ones to split when next changed.
      complexity: ['warn', 20],
    },
  },
  {
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
