import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkHealth, LISTENING_MESSAGE, WEB_LISTENING_MESSAGE } from '@platform/service-kit';
import { METRICS_SERVED_MESSAGE } from '@platform/telemetry';

/** A service started as its own Node.js process, as in production. */
export interface ServiceProcess {
  readonly port: number;
  /** Where it serves /metrics. */
  readonly metricsPort: number;
  /** Its web endpoint's port (gRPC-Web, Connect), when WEB_PORT is set. */
  readonly webPort: number | undefined;
  readonly child: ChildProcess;
  /** Every JSON log line the process printed so far. */
  readonly logLines: Record<string, unknown>[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Generous: a cold start compiles nothing, but CI machines can be slow. */
const STARTUP_TIMEOUT_MS = 30_000;

/** The telemetry preload, as the services' start scripts use it. */
const TELEMETRY_PRELOAD = require.resolve('@platform/telemetry/register');

/**
 * Starts `node --require <telemetry preload> <script>`, as production does,
 * and resolves once it logs LISTENING_MESSAGE, with the port from that
 * line (start it with GRPC_PORT=0).
 */
export async function startServiceProcess(
  script: string,
  env: NodeJS.ProcessEnv,
  options: {
    discardOutput?: boolean;
    /** An open file to be the process's stdout (a FIFO nobody reads) instead of a pipe to this process; needs a fixed GRPC_PORT. */
    stdoutFd?: number;
    /** Extra Node.js flags, e.g. --cpu-prof (not allowed in NODE_OPTIONS). */
    nodeArgs?: string[];
    /** Another build's telemetry preload (benchmarks compare checkouts); this workspace's by default. */
    preload?: string;
    /** Another Node.js binary (benchmarks run the image's version beside this one); this process's by default. */
    node?: string;
  } = {},
): Promise<ServiceProcess> {
  // Benchmarks discard stdout: parsing every line here would cost the measuring process CPU and,
  // when it falls behind, block the service on a full pipe. Readiness then comes from health (fixed GRPC_PORT).
  if ((options.discardOutput || options.stdoutFd !== undefined) && !Number(env.GRPC_PORT ?? 0))
    throw new Error('discardOutput and stdoutFd need a fixed GRPC_PORT');
  // Free ports unless told otherwise, so test processes never collide with a running platform.
  const child = spawn(
    options.node ?? process.execPath,
    [...(options.nodeArgs ?? []), '--require', options.preload ?? TELEMETRY_PRELOAD, script],
    {
      env: { ...process.env, GRPC_PORT: '0', METRICS_PORT: '0', ...env },
      stdio: ['ignore', options.stdoutFd ?? (options.discardOutput ? 'ignore' : 'pipe'), 'pipe'],
    },
  );
  const logLines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const fixedPort = Number(env.GRPC_PORT ?? 0);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} was not ready within ${STARTUP_TIMEOUT_MS} ms:\n${stderr}`));
    }, STARTUP_TIMEOUT_MS);
    const ready = (boundPort: number) => {
      clearTimeout(timer);
      resolve(boundPort);
    };
    if (child.stdout)
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = parseJson(line);
        if (entry === undefined) return;
        logLines.push(entry);
        if (messageOf(entry) === LISTENING_MESSAGE && typeof entry.port === 'number') ready(entry.port);
      });
    // On a fixed port the process may log nothing at info: ask its health service, as an orchestrator would.
    if (fixedPort > 0)
      void pollHealth(`127.0.0.1:${fixedPort}`, () => child.exitCode !== null).then((serving) => serving && ready(fixedPort));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before listening:\n${stderr}`));
    });
  });

  const metricsLine = logLines.find((line) => messageOf(line) === METRICS_SERVED_MESSAGE);
  const metricsPort = Number(env.METRICS_PORT ?? 0) || Number(metricsLine?.port);
  // Bound before the gRPC port, so its line is in already.
  const webLine = logLines.find((line) => messageOf(line) === WEB_LISTENING_MESSAGE);
  return {
    port,
    metricsPort,
    webPort: webLine === undefined ? undefined : Number(webLine.port),
    child,
    logLines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Resolves true once the server reports SERVING, false if `gaveUp` turns true first. */
async function pollHealth(address: string, gaveUp: () => boolean): Promise<boolean> {
  while (!gaveUp()) {
    if ((await checkHealth(address).catch(() => 'UNREACHABLE')) === 'SERVING') return true;
    await sleep(50);
  }
  return false;
}

/** ECS lines say `message`; plain pino lines say `msg`. */
export function messageOf(line: Record<string, unknown>): unknown {
  return line.message ?? line.msg;
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface RestartCheck<Written> {
  /** The service's compiled main.js. */
  main: string;
  env: NodeJS.ProcessEnv;
  /** Writes through the first process. */
  write(port: number): Promise<Written>;
  /** Reads through the second process what write() wrote. */
  readBack(port: number, written: Written): Promise<Written>;
}

/**
 * Writes through one process, stops it with SIGTERM (which must exit 0 after
 * a clean stop), starts a second one on the same storage and reads back.
 * Resolves with what was written and what was read, for the caller to compare.
 */
export async function writeRestartRead<Written>(check: RestartCheck<Written>): Promise<{ written: Written; read: Written }> {
  const first = await startServiceProcess(check.main, check.env);
  const written = await check.write(first.port);
  const firstExit = await first.stop();
  if (firstExit !== 0) throw new Error(`first process exited with ${firstExit}, not 0`);
  if (!first.logLines.some((line) => messageOf(line) === 'service stopped')) throw new Error('first process did not log a clean stop');
  const second = await startServiceProcess(check.main, check.env);
  const read = await check.readBack(second.port, written).finally(() => second.stop());
  const secondExit = await second.stop();
  if (secondExit !== 0) throw new Error(`second process exited with ${secondExit}, not 0`);
  return { written, read };
}

/** What a program printed, and how it exited. */
export interface ProgramRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its exit, collecting what it prints. Pass the test's
 * `signal`: when the test times out or fails, the program is killed with it
 * rather than left running.
 */
export async function runToExit(
  binary: string,
  args: readonly string[],
  options: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<ProgramRun> {
  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.signal && { signal: options.signal }),
    ...(options.env && { env: options.env }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
