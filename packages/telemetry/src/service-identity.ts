import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Who this process is, for traces and logs alike. */
export interface ServiceIdentity {
  name: string;
  version: string;
  /** deployment.environment.name */
  environment: string;
}

/**
 * Name and version from the package.json next to the main script (the name
 * overridden by OTEL_SERVICE_NAME), the environment from
 * OTEL_RESOURCE_ATTRIBUTES' deployment.environment.name.
 */
export function serviceIdentity(env: NodeJS.ProcessEnv = process.env, mainScript = process.argv[1]): ServiceIdentity {
  const manifest = mainScript ? nearestManifest(path.dirname(mainScript)) : undefined;
  const resourceEnvironment = (env.OTEL_RESOURCE_ATTRIBUTES ?? '')
    .split(',')
    .map((pair) => pair.split('=').map((part) => decodeURIComponent(part.trim())))
    .find(([key]) => key === 'deployment.environment.name')?.[1];
  return {
    name: env.OTEL_SERVICE_NAME || (manifest?.name ?? 'unknown_service').replace(/^@[^/]+\//, ''),
    version: manifest?.version ?? '0.0.0',
    environment: resourceEnvironment || 'development',
  };
}

function nearestManifest(directory: string): { name?: string; version?: string } | undefined {
  for (let current = directory; ; current = path.dirname(current)) {
    try {
      return JSON.parse(readFileSync(path.join(current, 'package.json'), 'utf8')) as { name?: string; version?: string };
    } catch {
      if (path.dirname(current) === current) return undefined;
    }
  }
}
