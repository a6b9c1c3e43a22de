/**
 * What rejecting an oversized request costs a service: a user-service process
 * (in-memory storage, telemetry off) is sent CreateUser calls whose
 * display_name is a few MiB, 16 at a time, and its CPU time and peak memory
 * are read from /proc before and after.
 *
 *   npm run build && node bench/dist/src/rejection-cost.js
 */
import { readFileSync } from 'node:fs';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { startServiceProcess, unary } from '@platform/testing';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { processCpuSeconds } from './infrastructure';

const CONCURRENCY = 16;
const ROUNDS = 4;
const DISPLAY_NAME_BYTES = 4 * 1024 * 1024 - 1024;

const cpuMs = (pid: number) => processCpuSeconds(pid)! * 1000;

function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]) / 1024;
}

async function main(): Promise<void> {
  const service = await startServiceProcess(require.resolve('@platform/user-service'), {
    OTEL_SDK_DISABLED: 'true',
    GRPC_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  const pid = service.child.pid!;
  const client = new UserServiceClient(`127.0.0.1:${service.port}`, credentials.createInsecure(), {
    'grpc.max_send_message_length': 8 * 1024 * 1024,
  });
  try {
    const createUser = unary(client, client.createUser);
    await createUser({ email: 'warm@example.com', displayName: 'Warm' });
    const before = { cpu: cpuMs(pid), rss: memoryMiB(pid, 'VmRSS') };
    const codes = new Map<string, number>();
    const displayName = 'x'.repeat(DISPLAY_NAME_BYTES);
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, index) =>
          createUser({ email: `big${round}-${index}@example.com`, displayName }).then(
            () => codes.set('OK', (codes.get('OK') ?? 0) + 1),
            (error: ServiceError) => codes.set(status[error.code], (codes.get(status[error.code]) ?? 0) + 1),
          ),
        ),
      );
    }
    const calls = CONCURRENCY * ROUNDS;
    const cpuPerCall = (cpuMs(pid) - before.cpu) / calls;
    process.stdout.write(
      `${calls} CreateUser calls with a ${(DISPLAY_NAME_BYTES / 1024 / 1024).toFixed(1)} MiB display_name, ${CONCURRENCY} at a time: ` +
        `${[...codes].map(([code, count]) => `${code} ${count}`).join(', ')}; ` +
        `server CPU ${cpuPerCall.toFixed(1)} ms per call; resident memory ${before.rss.toFixed(0)} MiB before, peak ${memoryMiB(pid, 'VmHWM').toFixed(0)} MiB\n`,
    );
  } finally {
    client.close();
    await service.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
