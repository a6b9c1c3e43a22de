/**
 * Exits 0 when a gRPC server reports SERVING over grpc.health.v1, 1 otherwise:
 * a container healthcheck for Compose. (Kubernetes probes gRPC health natively.)
 *
 *   node packages/service-kit/dist/src/cli/health-probe.js [host:port] [service]
 */
import { credentials, makeClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const [address = 'localhost:50051', serviceName = ''] = process.argv.slice(2);
const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
const client = new Health(address, credentials.createInsecure()) as unknown as Client & {
  check(request: { service: string }, options: { deadline: number }, callback: (error: ServiceError | null, response: { status: string }) => void): void;
};

client.check({ service: serviceName }, { deadline: Date.now() + 3000 }, (error, response) => {
  client.close();
  const status = error ? `unreachable (${error.details || error.message})` : response.status;
  process.stdout.write(`${address}${serviceName ? ` ${serviceName}` : ''}: ${status}\n`);
  process.exit(!error && response.status === 'SERVING' ? 0 : 1);
});
