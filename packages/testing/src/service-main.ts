import path from 'node:path';

/** The built entry point of a service workspace, to run as a process: main.js, beside the package's index.js. */
export function serviceMain(workspace: '@platform/user-service' | '@platform/order-service'): string {
  return path.join(path.dirname(require.resolve(workspace)), 'main.js');
}
