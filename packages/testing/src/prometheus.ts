import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from './eventually';
import { freePort } from './net';

export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** A real Prometheus server (Debian's `prometheus` package) on a loopback port. */
export interface PrometheusServer {
  readonly url: string;
  /** Instant query through the HTTP API. */
  query(promql: string): Promise<VectorSample[]>;
  /** Polls a query until `accept` holds (or fails after `timeoutMs`, with the last answer). */
  waitFor(promql: string, accept: (samples: VectorSample[]) => boolean, timeoutMs?: number): Promise<VectorSample[]>;
  /** GETs an API path and returns its `data`. */
  api<T>(pathAndQuery: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(configYaml: string, files: Record<string, string> = {}): Promise<PrometheusServer> {
  if (spawnSync('prometheus', ['--version']).error) {
    throw new Error('Prometheus is required for this test and is not installed: apt-get install prometheus (CI installs it in .ci/run).');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'prometheus-test-'));
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(configFile, configYaml);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');

  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${pathAndQuery}: ${body.error}`);
    return body.data;
  };

  const query = async (promql: string): Promise<VectorSample[]> => {
    const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      `/api/v1/query?query=${encodeURIComponent(promql)}`,
    );
    return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
  };

  const waitFor = (promql: string, accept: (samples: VectorSample[]) => boolean, timeoutMs = 60_000) => {
    let last: VectorSample[] = [];
    return eventually(
      async () => {
        last = await query(promql);
        return accept(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 250, failure: () => `Prometheus never satisfied ${promql}; last answer ${JSON.stringify(last)}` },
    );
  };

  const readyBy = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > readyBy) {
      await stop();
      throw new Error(`prometheus did not become ready:\n${output}`);
    }
    await sleep(100);
  }
  return { url, query, waitFor, api, stop };
}
