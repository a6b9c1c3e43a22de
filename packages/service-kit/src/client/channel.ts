import type { ChannelCredentials, ClientOptions, Interceptor, ServiceDefinition } from '@grpc/grpc-js';
import { grpcMethodLabels } from '@platform/telemetry';

/** A client class generated from proto/ (`UserServiceClient`): it knows its own service definition. */
export interface GeneratedClientClass<Client> {
  new (address: string, credentials: ChannelCredentials, options?: Partial<ClientOptions>): Client;
  service: ServiceDefinition;
}

export interface ClientChannelOptions<Client> {
  /** Any gRPC target: `host:port`, `dns:///user:50051`, `ipv4:127.0.0.1:50061,127.0.0.1:50062` ... */
  target: string;
  credentials: ChannelCredentials;
  /**
   * Methods safe to repeat (reads), retried when the server is UNAVAILABLE,
   * up to `attempts` in all, the first included; left out or 1: no retries.
   */
  retry?: { methods: readonly (keyof Client & string)[]; attempts: number };
  /** The telemetry's client interceptors for this target (metrics), outermost first. */
  interceptors: Interceptor[];
}

/**
 * Retries cost the dependency load exactly when it can least afford it: once
 * more than about one attempt in eleven fails (a token back per ten
 * successes, one lost per failure), the bucket drains below half and grpc-js
 * stops retrying until successes refill it. 100 tokens let up to about 50
 * calls that fail together (those in flight on a replica that dies) still be
 * retried.
 */
const RETRY_THROTTLING = { maxTokens: 100, tokenRatio: 0.1 };
/** With 3 attempts a retried call waits at most 0.1 s + 0.2 s in all; jittered by grpc-js. */
const RETRY_BACKOFF = { initialBackoff: '0.1s', maxBackoff: '1s', backoffMultiplier: 2 };

/**
 * The channel's policy, as the gRPC service config: spread calls over every
 * address the target resolves to (round_robin; pick_first, the default, would
 * send everything to one replica), and retry the given methods when the
 * server is UNAVAILABLE. Nothing else is retried: another status would be the
 * same on a second attempt.
 */
function serviceConfig(service: ServiceDefinition, retry: { methods: readonly string[]; attempts: number } | undefined): object {
  if (!retry || retry.attempts <= 1) return { loadBalancingConfig: [{ round_robin: {} }] };
  const name = retry.methods.map((method) => {
    const definition = service[method];
    if (!definition) throw new Error(`no method ${method} to retry in this service`);
    const { grpc_service, grpc_method } = grpcMethodLabels(definition.path);
    return { service: grpc_service, method: grpc_method };
  });
  return {
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [{ name, retryPolicy: { maxAttempts: retry.attempts, ...RETRY_BACKOFF, retryableStatusCodes: ['UNAVAILABLE'] } }],
    retryThrottling: RETRY_THROTTLING,
  };
}

/** A client of another service, with the service config above and keepalive. */
export function createClient<Client>(clientClass: GeneratedClientClass<Client>, options: ClientChannelOptions<Client>): Client {
  const channelOptions: Partial<ClientOptions> = {
    'grpc.service_config': JSON.stringify(serviceConfig(clientClass.service, options.retry)),
    // The policy is this client's to choose; a TXT record in DNS must not replace it.
    'grpc.service_config_disable_resolution': 1,
    // A connection that stopped answering (a replica gone without closing it) is found in
    // 30 s + 10 s rather than at the next deadline of every call sent down it.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // A replica that comes back is used within 5 s, rather than after grpc's reconnect backoff of up to 2 min.
    'grpc.max_reconnect_backoff_ms': 5_000,
    interceptors: options.interceptors,
  };
  return new clientClass(options.target, options.credentials, channelOptions);
}
