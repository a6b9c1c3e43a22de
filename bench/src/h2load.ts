import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { grpcFrame } from '@platform/testing';
import { LatencyHistogram } from '@platform/traffic-generator';
import { pin, processCpuSeconds } from './infrastructure';
import { serverCpuMeter, summarise, thousandths, type LoadResult } from './load';

/**
 * One unary method as h2load calls it: the request pre-framed once, and the
 * response's exact size, which is how successes are told from errors (h2load
 * sees HTTP 200 either way; a gRPC error is a trailers-only response with no
 * DATA).
 */
export interface H2loadTarget {
  port: number;
  /** `/user.v1.UserService/GetUser` */
  path: string;
  /** The serialised request message. */
  request: Uint8Array;
  /** The serialised response message every successful call returns. */
  response: Uint8Array;
}

export interface H2loadOptions {
  /** Connections (h2load -c). */
  clients: number;
  /** Concurrent streams per connection (h2load -m). */
  streams: number;
  durationMs: number;
  /** The server whose CPU time is charged to the calls. */
  serverPid?: number | undefined;
  /** The core h2load runs on, when it can be pinned. */
  cpu?: number | undefined;
  /** Open loop: requests per second in all (h2load --rps, per connection); closed loop when absent. */
  rate?: number | undefined;
}

/** h2load from Debian's nghttp2-client: a load generator that is not Node.js. */
export function h2loadAvailable(): boolean {
  return spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status === 0;
}

export const H2LOAD_MISSING = 'h2load is not installed (Debian: apt-get install nghttp2-client)';

/**
 * Runs h2load against one gRPC method and reads what it did: successes from
 * the response bytes, latency percentiles from its per-request log.
 */
export async function h2load(target: H2loadTarget, options: H2loadOptions): Promise<LoadResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'h2load-'));
  try {
    const body = path.join(dir, 'request.bin');
    const log = path.join(dir, 'requests.tsv');
    await writeFile(body, grpcFrame(Buffer.from(target.request)));
    const args = [
      `--clients=${options.clients}`,
      `--max-concurrent-streams=${options.streams}`,
      `--duration=${Math.max(1, Math.round(options.durationMs))}ms`,
      `--data=${body}`,
      '--header=content-type: application/grpc',
      '--header=te: trailers',
      `--log-file=${log}`,
      ...(options.rate === undefined ? [] : [`--rps=${Math.max(1, Math.round(options.rate / options.clients))}`]),
      `http://127.0.0.1:${target.port}${target.path}`,
    ];
    const server = serverCpuMeter(options.serverPid);
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (options.cpu !== undefined) pin(child.pid!, options.cpu);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // /proc/<pid> is gone once it exits: its CPU time is read while it runs.
    let generatorCpu = 0;
    const sampler = setInterval(() => (generatorCpu = processCpuSeconds(child.pid!) ?? generatorCpu), 100);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearInterval(sampler);
    server.stop();
    if (code !== 0) throw new Error(`h2load exited with ${code}:\n${output}`);

    const report = parseReport(output);
    const latency = new LatencyHistogram();
    for (const line of (await readFile(log, 'utf8')).split('\n')) {
      const [, status, micros] = line.split('\t');
      if (status === '200') latency.record(Number(micros));
    }
    const responseBytes = grpcFrame(Buffer.from(target.response)).length;
    // Every 2xx response that carried the expected message is a success; one that carried none was a gRPC error.
    const answered = Math.floor(report.dataBytes / responseBytes);
    const failedIn2xx = Math.max(0, report.status2xx - answered);
    const ok = Math.max(0, report.succeeded - failedIn2xx);
    const failed = report.done - ok;
    return {
      ...summarise(latency, ok, failed, report.seconds),
      ...server.perCall(ok),
      loadGeneratorCpu: thousandths(generatorCpu / report.seconds),
      generator: 'h2load',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface H2loadReport {
  seconds: number;
  done: number;
  succeeded: number;
  status2xx: number;
  dataBytes: number;
}

function parseReport(output: string): H2loadReport {
  const match = (pattern: RegExp, what: string) => {
    const found = pattern.exec(output);
    if (!found) throw new Error(`h2load printed no ${what}:\n${output}`);
    return found;
  };
  const finished = match(/finished in ([\d.]+)(ms|s),/, 'duration');
  const requests = match(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/, 'request counts');
  return {
    seconds: Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1),
    done: Number(requests[1]),
    succeeded: Number(requests[2]),
    status2xx: Number(match(/status codes: (\d+) 2xx/, 'status codes')[1]),
    dataBytes: Number(match(/traffic: .*\((\d+)\) data/, 'traffic')[1]),
  };
}
