import {
  credentials,
  makeClientConstructor,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

type HealthClient = Client & {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (error: ServiceError | null, response: { status: string }) => void,
  ): void;
};

const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');

/**
 * The grpc.health.v1 status a server reports for `service` ("" for the whole
 * server); rejects when it cannot be asked. Plaintext unless told otherwise.
 */
export function checkHealth(
  address: string,
  service = '',
  channel: { credentials?: ChannelCredentials; options?: ChannelOptions; deadlineMs?: number } = {},
): Promise<string> {
  const client = new Health(address, channel.credentials ?? credentials.createInsecure(), channel.options) as unknown as HealthClient;
  return new Promise<string>((resolve, reject) =>
    client.check({ service }, { deadline: Date.now() + (channel.deadlineMs ?? 10_000) }, (error, response) =>
      error ? reject(error) : resolve(response.status),
    ),
  ).finally(() => client.close());
}
