/**
 * Unit tests of the extension's plain TypeScript modules (the REST client, parameter
 * parsing, the form's reducer). ts-jest, not @jupyterlab/testutils' config: the units under
 * test import nothing from JupyterLab (the client takes its fetch function as an argument),
 * so there is no ESM JupyterLab package to transform with babel and no DOM to emulate.
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
