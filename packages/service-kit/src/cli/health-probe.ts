/**
 * Exits 0 when a gRPC server reports SERVING over grpc.health.v1, 1 otherwise:
 * a container healthcheck for Compose. (Kubernetes probes gRPC health natively.)
 * With TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE set, as they are for the
 * service it runs beside, it speaks mTLS with the service's own certificate.
 *
 *   node packages/service-kit/dist/src/cli/health-probe.js [host:port] [service]
 */
import { makeClientConstructor, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { ConfigError, tlsFromEnv } from '../config';
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

const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
const client = new Health(address, credentialsFromEnv()) as unknown as Client & {
  check(request: { service: string }, options: { deadline: number }, callback: (error: ServiceError | null, response: { status: string }) => void): void;
};

client.check({ service: serviceName }, { deadline: Date.now() + 3000 }, (error, response) => {
  client.close();
  const status = error ? `unreachable (${error.details || error.message})` : response.status;
  process.stdout.write(`${address}${serviceName ? ` ${serviceName}` : ''}: ${status}\n`);
  process.exit(!error && response.status === 'SERVING' ? 0 : 1);
});
