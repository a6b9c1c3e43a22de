import { Metadata } from '@grpc/grpc-js';
import type { CallContext } from '../rpc';
import type { CircuitBreakerGuard } from './circuit-breaker';
import type { UnaryMethod } from './unary';

// A generated client's method has three overloads; inference reads the last, UnaryMethod's full signature.
type UnaryMethodName<Client> = {
  [K in keyof Client]: Client[K] extends UnaryMethod<infer _Request, infer _Response> ? K : never;
}[keyof Client] &
  string;
type RequestOf<Method> = Method extends UnaryMethod<infer Request, unknown> ? Request : never;
type ResponseOf<Method> = Method extends UnaryMethod<never, infer Response> ? Response : never;

export interface DependencyOptions<Client> {
  /** The client, from createClient; closed by close(). */
  client: Client;
  /** Upper bound of one call, retries included; the incoming call's deadline wins when it is sooner. */
  timeoutMs: number;
  /** Guards every call; closed by close(). Left out, calls are not guarded (as tests of the call alone do). */
  breaker?: CircuitBreakerGuard;
}

/**
 * Another service this one calls while serving a request: the one way to
 * call it. Each call takes the incoming call's context: its deadline bounds
 * the outgoing one (never later than `timeoutMs` from now), its cancellation
 * cancels it, and the breaker guards it. Rejections are the dependency's
 * ServiceError, or the breaker's UNAVAILABLE; what they mean to this service
 * is the caller's to say.
 */
export class Dependency<Client extends { close(): void }> {
  readonly #options: DependencyOptions<Client>;

  constructor(options: DependencyOptions<Client>) {
    this.#options = options;
  }

  /** Calls `method` with `request` within `context`: `await users.unary('getUser', { id }, context)`. */
  unary<Name extends UnaryMethodName<Client>>(
    method: Name,
    request: RequestOf<Client[Name]>,
    context: CallContext,
  ): Promise<ResponseOf<Client[Name]>> {
    const { breaker } = this.#options;
    const call = () => this.#call(method, request, context);
    return breaker ? breaker.run(call) : call();
  }

  /** Closes the channel and stops the breaker's timers. */
  close(): void {
    this.#options.client.close();
    this.#options.breaker?.close();
  }

  #call<Name extends UnaryMethodName<Client>>(
    method: Name,
    request: RequestOf<Client[Name]>,
    context: CallContext,
  ): Promise<ResponseOf<Client[Name]>> {
    const { client, timeoutMs } = this.#options;
    const deadline = Math.min(Date.now() + timeoutMs, deadlineMs(context.deadline));
    const send = client[method] as UnaryMethod<RequestOf<Client[Name]>, ResponseOf<Client[Name]>>;
    return new Promise((resolve, reject) => {
      const call = send.call(client, request, new Metadata(), { deadline }, (error, response) => {
        context.signal.removeEventListener('abort', cancel);
        if (error) reject(error);
        else resolve(response);
      });
      const cancel = () => call.cancel();
      context.signal.addEventListener('abort', cancel, { once: true });
    });
  }
}

function deadlineMs(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
