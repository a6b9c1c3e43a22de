import type { ChannelCredentials, ClientOptions, Interceptor } from '@grpc/grpc-js';
import { grpcMethodLabels } from '@platform/telemetry';
import { UserServiceClient, UserServiceService } from '../api/user/v1/user';

export interface UserClientOptions {
  /** Any gRPC target: `host:port`, `dns:///user:50051`, `ipv4:127.0.0.1:50061,127.0.0.1:50062` ... */
  target: string;
  credentials: ChannelCredentials;
  /** Attempts per GetUser, the first included; 1 turns retries off. */
  retryAttempts: number;
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
 * send everything to one replica), and retry GetUser, a read and so safe to
 * repeat, when User is UNAVAILABLE. Nothing else is retried: another status
 * would be the same on a second attempt.
 */
function userServiceConfig(retryAttempts: number): object {
  const { grpc_service: service, grpc_method: method } = grpcMethodLabels(UserServiceService.getUser.path);
  return {
    loadBalancingConfig: [{ round_robin: {} }],
    ...(retryAttempts > 1 && {
      methodConfig: [
        {
          name: [{ service, method }],
          retryPolicy: { maxAttempts: retryAttempts, ...RETRY_BACKOFF, retryableStatusCodes: ['UNAVAILABLE'] },
        },
      ],
      retryThrottling: RETRY_THROTTLING,
    }),
  };
}

/** The user service client Order calls through, with the service config above and keepalive. */
export function createUserServiceClient(options: UserClientOptions): UserServiceClient {
  const channelOptions: Partial<ClientOptions> = {
    'grpc.service_config': JSON.stringify(userServiceConfig(options.retryAttempts)),
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
  return new UserServiceClient(options.target, options.credentials, channelOptions);
}
