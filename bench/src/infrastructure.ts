import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createConnection, createServer, type Server as NetServer } from 'node:net';
import { createInterface } from 'node:readline';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { procStat } from '@platform/testing';

/** Pins a process (all its threads) to one CPU, when taskset exists and the machine has the CPU. */
export function pin(pid: number, cpu: number): boolean {
  const result = spawnSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { encoding: 'utf8' });
  return result.status === 0;
}

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * CPU seconds a process has used (all its threads, user + system), from
 * /proc; undefined where there is no /proc (then only client-observed
 * throughput is reported).
 */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const fields = procStat(pid);
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** An OTLP/gRPC endpoint that accepts every export and keeps nothing. */
export async function startOtlpSink(): Promise<{ url: string; close(): void }> {
  const server = new Server();
  server.addService(
    {
      export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (bytes: Buffer) => bytes,
        requestDeserialize: (bytes: Buffer) => bytes,
        responseSerialize: () => Buffer.alloc(0),
        responseDeserialize: (bytes: Buffer) => bytes,
      },
    },
    { export: (_call: unknown, callback: (error: null, response: Buffer) => void) => callback(null, Buffer.alloc(0)) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { url: `http://127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/** An endpoint speaking enough of the Elasticsearch bulk API to accept every document. */
export async function startBulkSink(): Promise<{ url: string; documents: () => number; close(): Promise<void> }> {
  let documents = 0;
  const server: HttpServer = createHttpServer((request, response) => {
    let lines = 0;
    request.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
    });
    request.on('end', () => {
      const items = Math.floor(lines / 2);
      documents += items;
      const body = JSON.stringify({ took: 0, errors: false, items: Array.from({ length: items }, () => ({ create: { status: 201 } })) });
      response
        .writeHead(200, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' })
        .end(request.url?.startsWith('/_bulk') ? body : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    documents: () => documents,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP proxy that counts the bytes crossing it both ways: bytes on the wire, measured. */
export async function startCountingProxy(targetPort: number): Promise<{ port: number; bytes: () => number; close(): void }> {
  let bytes = 0;
  const server: NetServer = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    // Without this, Nagle's algorithm holds gRPC's separate header and data writes back by tens of ms.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => (bytes += chunk.length));
    upstream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, bytes: () => bytes, close: () => server.close() };
}

/** Starts `node script`, pinned to `cpu`, and resolves with the first JSON line it prints. */
export async function startJsonProcess<T>(
  script: string,
  cpu: number,
  options: { env?: NodeJS.ProcessEnv; node?: string } = {},
): Promise<{ info: T; child: ChildProcess; stop(): Promise<void> }> {
  // stdin stays open for the child's life: it exits when the pipe closes, even if this process is killed.
  const child = spawn(options.node ?? process.execPath, [script], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  pin(child.pid!, cpu);
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return {
    info: JSON.parse(line) as T,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
