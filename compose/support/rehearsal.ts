/**
 * Runs a Compose service from the built image without a container runtime:
 * each container gets its own copy of the image's filesystem (podman create +
 * podman mount), its process runs there under chroot as the image's user,
 * with the image's working directory, entrypoint and environment, the
 * service's command and environment, and its healthcheck command is run
 * inside it as Docker would.
 *
 * What a runtime does and this does instead:
 * - Network: every container would have its own network namespace and find the
 *   others through Compose's DNS. Here each gets its own loopback address
 *   (127.0.0.N): its /etc/hosts names `localhost` and itself by that address
 *   and the other services by theirs (a service with two replicas has two
 *   lines, and glibc returns both, as Compose's DNS does); a server that would
 *   listen on 0.0.0.0 is given GRPC_HOST=<its address> (FAULT_ADMIN_HOST too), since the processes
 *   share the machine's network.
 * - Memory: the service's limit is a memory cgroup of its own (cgroup v1 on
 *   this machine), so the kernel enforces it as Docker would, and Node.js
 *   sizes its heap by it (/sys/fs/cgroup is visible read-only, as in Docker).
 * - /proc is mounted, /dev is the image's.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ComposeService } from './compose-file';
import { completion, type CommandResult, type ImageConfig } from './image';

/** Whoever creates a resource registers its release here; `close` releases all, newest first. */
export class Teardown {
  readonly #steps: { name: string; release: () => unknown }[] = [];

  add(name: string, release: () => unknown): void {
    this.#steps.push({ name, release });
  }

  async close(): Promise<string[]> {
    const problems: string[] = [];
    for (const { name, release } of this.#steps.splice(0).reverse()) {
      try {
        await release();
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`);
      }
    }
    return problems;
  }
}

/** Go durations as Compose writes them: 5s, 1m30s, 500ms. */
export function durationMs(text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, ns: 1e-6 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|ns)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  return parts.reduce((total, [, value, unit]) => total + Number(value) * units[unit!]!, 0);
}

const PREFIX = 'platform-rehearsal-';

/** Processes, mounts, containers and cgroups a killed rehearsal left behind; nothing of anyone else's. */
export function removeLeftovers(): void {
  const parent = ownMemoryCgroup();
  const cgroups =
    parent && existsSync(parent)
      ? readdirSync(parent)
          .filter((entry) => entry.startsWith(PREFIX))
          .map((entry) => path.join(parent, entry))
      : [];
  for (const cgroup of cgroups) {
    for (const pid of readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      spawnSync('kill', ['-KILL', pid]);
  }
  const listed = spawnSync('podman', ['ps', '--all', '--format', '{{.Names}}', '--filter', `name=^${PREFIX}`], { encoding: 'utf8' });
  for (const name of listed.stdout.split('\n').filter(Boolean)) {
    const root = spawnSync('podman', ['mount', name], { encoding: 'utf8' }).stdout.trim();
    if (root) {
      const inside = readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .map((line) => line.split(' ')[1] ?? '')
        .filter((mountPoint) => mountPoint.startsWith(`${root}/`));
      for (const mountPoint of inside.reverse()) spawnSync('umount', ['-l', mountPoint]);
    }
    spawnSync('podman', ['rm', '--force', name]);
  }
  for (const cgroup of cgroups) spawnSync('rmdir', [cgroup]);
}

export interface HealthResult {
  healthy: boolean;
  attempts: number;
  seconds: number;
  lastOutput: string;
}

export interface ContainerSpec {
  /** The Compose service, and the container's name (service-1, service-2 for replicas). */
  service: string;
  name: string;
  address: string;
  definition: ComposeService;
  /** Every name this container can resolve, with its addresses. */
  hosts: Record<string, string[]>;
  /** Environment beyond the service's own, each with why. */
  overrides: Record<string, string>;
  /** Host folders for the service's bind mounts (`../observability/elasticsearch:/setup:ro`), resolved. */
  binds: { source: string; target: string; readOnly: boolean }[];
  /** deploy.resources.limits.memory, in bytes. */
  memoryLimitBytes: number | undefined;
}

export class RehearsedContainer {
  output = '';
  readonly process: ChildProcess;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  readonly #root: string;
  readonly #uid: string;
  readonly #env: Record<string, string>;
  readonly #workingDir: string;
  readonly #cgroup: string | undefined;

  private constructor(
    readonly spec: ContainerSpec,
    root: string,
    image: ImageConfig,
    cgroup: string | undefined,
  ) {
    this.#root = root;
    this.#cgroup = cgroup;
    this.#uid = userSpec(root, image.user);
    this.#workingDir = spec.definition.working_dir ?? image.workingDir;
    const home = homeOf(root, image.user);
    this.#env = { ...image.env, HOSTNAME: spec.name, ...(home ? { HOME: home } : {}), ...spec.definition.environment, ...spec.overrides };
    const command = spec.definition.command ?? image.cmd;
    this.process = this.#spawn([...image.entrypoint, ...command]);
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-200_000);
    };
    this.process.stdout!.on('data', keep);
    this.process.stderr!.on('data', keep);
    this.exited = once(this.process, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }

  /** Creates the container's filesystem from the image, lays out what a runtime would, and starts its process. */
  static start(imageTag: string, image: ImageConfig, spec: ContainerSpec, teardown: Teardown): RehearsedContainer {
    const containerName = `${PREFIX}${process.pid}-${spec.name}`;
    const root = mountContainer(imageTag, containerName, teardown);

    writeFileSync(path.join(root, 'etc/hosts'), hostsFile(spec));
    mount(['-t', 'proc', 'proc', path.join(root, 'proc')], teardown);
    const cgroup = spec.memoryLimitBytes === undefined ? undefined : memoryCgroup(containerName, spec.memoryLimitBytes, teardown);
    if (cgroup) {
      mkdirSync(path.join(root, 'sys/fs/cgroup'), { recursive: true });
      mount(['--rbind', '-o', 'ro', '/sys/fs/cgroup', path.join(root, 'sys/fs/cgroup')], teardown);
    }
    for (const bind of spec.binds) {
      const target = path.join(root, bind.target);
      mkdirSync(target, { recursive: true });
      mount(['--bind', bind.source, target], teardown);
      if (bind.readOnly) spawnChecked('mount', ['-o', 'remount,bind,ro', target]);
    }

    const container = new RehearsedContainer(spec, root, image, cgroup);
    teardown.add(`stop ${spec.name}`, () => container.stop(0));
    // Should the test process itself die, its containers go with it.
    process.once('exit', () => container.process.kill('SIGKILL'));
    return container;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Runs a command inside the container, as `docker exec` does: the container's user, environment and working directory. */
  exec(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
    return completion(this.#spawn(argv), timeoutMs);
  }

  /**
   * The service's healthcheck, as Docker runs it: every `interval`, at most
   * `timeout` each, healthy at the first success, unhealthy after `retries`
   * failures in a row.
   */
  async healthcheck(): Promise<HealthResult> {
    const check = this.spec.definition.healthcheck;
    if (!check) throw new Error(`${this.spec.service} has no healthcheck`);
    const argv = healthcheckArgv(check.test);
    const interval = durationMs(check.interval, 30_000);
    const timeout = durationMs(check.timeout, 30_000);
    const retries = check.retries ?? 3;
    const started = performance.now();
    let lastOutput = '';
    for (let attempt = 1; attempt <= retries; attempt++) {
      await sleep(interval);
      if (!this.running)
        return {
          healthy: false,
          attempts: attempt,
          seconds: (performance.now() - started) / 1000,
          lastOutput: `exited: ${this.output.slice(-4000)}`,
        };
      const result = await this.exec(argv, timeout);
      lastOutput = result.output;
      if (result.code === 0) return { healthy: true, attempts: attempt, seconds: (performance.now() - started) / 1000, lastOutput };
    }
    return { healthy: false, attempts: retries, seconds: (performance.now() - started) / 1000, lastOutput };
  }

  /** The container's memory as its cgroup counted it: the peak (what the limit applies to) and out-of-memory kills. */
  memory(): { peakMiB: number; oomKills: number } | undefined {
    if (!this.#cgroup) return undefined;
    const peak = Number(readFileSync(path.join(this.#cgroup, 'memory.max_usage_in_bytes'), 'utf8'));
    const oomKills = /^oom_kill (\d+)$/m.exec(readFileSync(path.join(this.#cgroup, 'memory.oom_control'), 'utf8'))?.[1];
    return { peakMiB: peak / 1024 / 1024, oomKills: Number(oomKills ?? 0) };
  }

  /** As `docker stop`: SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }> {
    const started = performance.now();
    if (this.running) {
      this.process.kill('SIGTERM');
      const killer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(killer);
    }
    const [code, signal] = await this.exited;
    return { code, signal, seconds: (performance.now() - started) / 1000 };
  }

  /** A process inside the container, in its memory cgroup (the shell joins it, then becomes chroot). */
  #spawn(argv: readonly string[]): ChildProcess {
    const env = Object.entries(this.#env).map(([name, value]) => `${name}=${value}`);
    const inside = ['chroot', `--userspec=${this.#uid}`, this.#root, '/usr/bin/env', '-C', this.#workingDir, '-i', ...env, ...argv];
    if (!this.#cgroup) return spawn(inside[0]!, inside.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    return spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.#cgroup, ...inside], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

function healthcheckArgv(test: string[] | string): string[] {
  if (typeof test === 'string') return ['/bin/sh', '-c', test];
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  throw new Error(`healthcheck ${JSON.stringify(test)} is not CMD or CMD-SHELL`);
}

function hostsFile(spec: ContainerSpec): string {
  const lines = [`${spec.address}\tlocalhost`, `${spec.address}\t${spec.name}`];
  for (const [name, addresses] of Object.entries(spec.hosts)) for (const address of addresses) lines.push(`${address}\t${name}`);
  return `${lines.join('\n')}\n`;
}

/** uid:gid of the image's user, from the image's own /etc/passwd. */
function userSpec(root: string, user: string): string {
  if (/^\d+(:\d+)?$/.test(user)) return user.includes(':') ? user : `${user}:${user}`;
  const entry = passwdEntry(root, user);
  return `${entry[2]}:${entry[3]}`;
}

function homeOf(root: string, user: string): string | undefined {
  return /^\d/.test(user) ? undefined : passwdEntry(root, user)[5];
}

function passwdEntry(root: string, user: string): string[] {
  const line = readFileSync(path.join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((candidate) => candidate.startsWith(`${user}:`));
  if (!line) throw new Error(`the image has no user ${user}`);
  return line.split(':');
}

/** A container of the image, created and mounted; its filesystem's path. */
export function mountContainer(imageTag: string, containerName: string, teardown: Teardown): string {
  podman(['create', '--name', containerName, imageTag]);
  teardown.add(`podman rm ${containerName}`, () => podman(['rm', '--force', containerName]));
  const root = podman(['mount', containerName]).trim();
  teardown.add(`podman umount ${containerName}`, () => podman(['umount', containerName]));
  return root;
}

/** A memory cgroup (v1) below this process's own, limited as Docker limits a container. */
function memoryCgroup(name: string, limitBytes: number, teardown: Teardown): string | undefined {
  const parent = ownMemoryCgroup();
  if (parent === undefined) return undefined;
  const cgroup = path.join(parent, name);
  mkdirSync(cgroup);
  teardown.add(`rmdir ${cgroup}`, () => rmdirSync(cgroup));
  writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), String(limitBytes));
  return cgroup;
}

/** This process's memory cgroup (v1), where the containers' own go. */
function ownMemoryCgroup(): string | undefined {
  const own = /^\d+:memory:(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  return own === undefined ? undefined : path.join('/sys/fs/cgroup/memory', own);
}

function mount(args: string[], teardown: Teardown): void {
  spawnChecked('mount', args);
  const target = args[args.length - 1]!;
  teardown.add(`umount ${target}`, () => spawnChecked('umount', ['-l', target]));
}

function podman(args: string[]): string {
  return spawnChecked('podman', args);
}

function spawnChecked(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.error?.message}`);
  return result.stdout;
}
