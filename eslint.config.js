// ESLint with typescript-eslint's type-aware rules, chosen for the mistakes that lose data or
// crash a process here rather than for taste (the formatter, Prettier, owns the layout):
// a promise nobody awaits or catches (its rejection is an unhandled-rejection crash, or a failure
// nobody counts), a promise where a callback's return is ignored (an async 'data' or 'close'
// handler), a promise returned from a try block unawaited (its rejection skips the catch/finally), something thrown that is
// not an Error (no stack, no code), and the plain mistakes a reviewer misses.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Promises: every one awaited, returned, caught, or explicitly `void`ed with a reason.
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'error-handling-correctness-only'],
      // A caught `unknown` passed on as it came is fine; a string or a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Errors: what is thrown carries a stack and, with the catalog, a code.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      // An object in a log line or message prints as [object Object].
      '@typescript-eslint/no-base-to-string': 'error',
      // A switch over a union (a flag's values, an outcome's kinds) that forgets a case.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      // Plain mistakes.
      'no-self-compare': 'error',
      'no-constant-binary-expression': 'error',
      'no-unsafe-finally': 'error',
      'no-async-promise-executor': 'error',
      'no-sparse-arrays': 'error',
      'no-dupe-else-if': 'error',
      'no-self-assign': 'error',
    },
  },
);
