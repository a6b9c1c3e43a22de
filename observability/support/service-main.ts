import path from 'node:path';

/** The built entry point of a service workspace, `@platform/user-service` -> .../services/user/dist/src/main.js, to run as a process. */
export function serviceMain(workspace: '@platform/user-service' | '@platform/order-service'): string {
  return path.join(path.dirname(require.resolve(`${workspace}/package.json`)), 'dist/src/main.js');
}
