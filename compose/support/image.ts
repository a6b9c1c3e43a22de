/**
 * The platform image, built for real without a Docker engine: podman builds
 * the Dockerfile unchanged with chroot isolation, on a stand-in for the base
 * image where the registry cannot be reached (standin-base.sh).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPOSE_DIR } from './compose-file';

export const REPO = path.resolve(COMPOSE_DIR, '..');
export const DOCKERFILE = path.join(REPO, 'Dockerfile');
const STANDIN_SCRIPT = path.join(COMPOSE_DIR, 'support', 'standin-base.sh');

export interface CommandResult {
  code: number | null;
  output: string;
  seconds: number;
}

/** Runs a command to its end, stdout and stderr together; never throws for a non-zero exit. */
export function run(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return completion(spawn(command, args, { cwd: options.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] }), options.timeoutMs);
}

/** How a started process ends, stdout and stderr together; killed after `timeoutMs` if given. */
export function completion(child: ChildProcess, timeoutMs?: number): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let output = '';
    const append = (chunk: Buffer) => (output += chunk.toString());
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/**
 * Why the image cannot be built and rehearsed here, or undefined when it can.
 * .ci/run installs podman and debootstrap; chroot and mounts need root.
 */
export function imageToolsMissing(): string | undefined {
  const missing = ['podman', 'debootstrap', 'chroot'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
  if (missing.length > 0) return `not installed: ${missing.join(', ')} (apt-get install podman debootstrap)`;
  if (process.getuid?.() !== 0) return 'needs root (chroot and mount)';
  return undefined;
}

/** The base images of a Dockerfile's stages, in order, each once. */
export function baseImages(dockerfile: string): string[] {
  const text = readFileSync(dockerfile, 'utf8');
  const stages = new Set([...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((match) => match[1]!.toLowerCase()));
  const bases = [...text.matchAll(/^FROM\s+(\S+)/gim)].map((match) => match[1]!).filter((base) => !stages.has(base.toLowerCase()));
  return [...new Set(bases)];
}

/** Makes (or finds, cached by its recipe) the stand-in for a base image. */
export async function ensureStandinBase(reference: string): Promise<CommandResult> {
  const result = await run('bash', [STANDIN_SCRIPT, reference], { timeoutMs: 15 * 60_000 });
  if (result.code !== 0) throw new Error(`stand-in for ${reference} could not be made:\n${result.output}`);
  return result;
}

export interface BuildResult extends CommandResult {
  /** Bytes of the image, as podman reports its size. */
  sizeBytes: number | undefined;
}

/** `podman build` of a Dockerfile from the repository as the build context, as `docker compose build` would. */
export async function buildImage(dockerfile: string, tag: string): Promise<BuildResult> {
  const result = await run(
    'podman',
    ['build', '--isolation', 'chroot', '--network', 'host', '--pull=never', '--file', dockerfile, '--tag', tag, REPO],
    { timeoutMs: 20 * 60_000 },
  );
  if (result.code !== 0) return { ...result, sizeBytes: undefined };
  const size = spawnSync('podman', ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' });
  return { ...result, sizeBytes: Number(size.stdout.trim()) || undefined };
}

/** What a container runtime takes from the image: whom to run as, where, with what. */
export interface ImageConfig {
  user: string;
  env: Record<string, string>;
  workingDir: string;
  entrypoint: string[];
  cmd: string[];
}

export function inspectImage(tag: string): ImageConfig {
  const result = spawnSync('podman', ['image', 'inspect', '--format', '{{json .Config}}', tag], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`podman image inspect ${tag}: ${result.stderr}`);
  const config = JSON.parse(result.stdout) as { User?: string; Env?: string[]; WorkingDir?: string; Entrypoint?: string[]; Cmd?: string[] };
  const env = Object.fromEntries(
    (config.Env ?? []).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  return {
    user: config.User || 'root',
    env,
    workingDir: config.WorkingDir || '/',
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
  };
}

export function mebibytesOf(bytes: number | undefined): string {
  return bytes === undefined ? 'unknown' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
