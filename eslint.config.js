// Type-aware lint for all TypeScript: the server (src), the clients, the
// benchmark, the test kit, scripts, tests and the web demo's sources.
// Import boundaries live in .dependency-cruiser.cjs (npm run lint:deps);
// formatting is Prettier's (npm run format:check). The k6 scripts in
// load-tests/ are plain JS checked by tsc against @types/k6
// (npm run typecheck:k6), so ESLint leaves them alone.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'drizzle/', 'bench/results/', 'test-artifacts/', '.data/', 'web-demo/dist/', 'load-tests/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // Each file is checked with the nearest tsconfig.json (the root one, or web-demo's for the browser code).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its rejection: the hub must hear every failure.
      '@typescript-eslint/no-floating-promises': 'error',
      // uWS and node callbacks ignore returned promises; an async handler there must catch its own errors.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Relaying another promise's rejection must pass its reason on unchanged, whatever it is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Async functions without await implement promise-returning interfaces; the type says what they return.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Config files in plain JS have no type information to lean on.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
