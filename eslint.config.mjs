import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/', 'packages/contracts/gen/', '**/node_modules/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always'],
      // A workspace's public surface is its package.json "exports": another
      // workspace's built files are its internals, whatever the path says.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '(^@platform/[^/]+/(dist|src|gen)(/|$))|(^(\\.\\./)+(packages|services|scripts|bench|dashboards|observability|compose)/)|(/dist/src/)',
              message:
                'Import another workspace through its package name and "exports" (e.g. \'@platform/contracts/user/v1/user\'), not its files.',
            },
          ],
        },
      ],
    },
  },
);
