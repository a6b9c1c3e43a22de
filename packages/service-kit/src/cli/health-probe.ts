/**
 * Exits 0 when a gRPC server reports SERVING over grpc.health.v1, 1 otherwise:
 * a container healthcheck for Compose. (Kubernetes probes gRPC health natively.)
 * With TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE set, as they are for the
 * service it runs beside, it speaks mTLS with the service's own certificate.
 *
 *   node packages/service-kit/dist/src/cli/health-probe.js [host:port] [service]
 */
import type { ChannelCredentials, ServiceError } from '@grpc/grpc-js';
import { tlsFromEnv } from '../config';
import { ConfigError } from '../env';
import { checkHealth } from '../health-client';
import { channelCredentials } from '../tls';

const [address = 'localhost:50051', serviceName = ''] = process.argv.slice(2);

function credentialsFromEnv(): ChannelCredentials {
  try {
    return channelCredentials({ tls: tlsFromEnv() });
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

checkHealth(address, serviceName, { credentials: credentialsFromEnv(), deadlineMs: 3000 }).then(
  (status) => {
    process.stdout.write(`${address}${serviceName ? ` ${serviceName}` : ''}: ${status}\n`);
    process.exit(status === 'SERVING' ? 0 : 1);
  },
  (error: ServiceError) => {
    process.stdout.write(`${address}${serviceName ? ` ${serviceName}` : ''}: unreachable (${error.details || error.message})\n`);
    process.exit(1);
  },
);
