/**
 * The benchmark's servers, in one process pinned to its own core: the user and
 * order handlers (in-memory repositories) behind gRPC and behind plain
 * node:http + JSON, and a bare grpc-js server that answers GetUser with
 * pre-encoded bytes. Telemetry is off in all three, so only the protocol and
 * the framework differ. Prints one JSON line with the ports.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { OrderServiceService, CreateOrderRequest, Order, protoMetadata as orderProto } from '@platform/contracts/order/v1/order';
import { inMemoryOrderHandlers } from '@platform/order-service';
import { AppError, Code, DEFAULT_MAX_MESSAGE_BYTES, GrpcServer, PageTokens, type CallContext } from '@platform/service-kit';
import { createLogger, createRegistry } from '@platform/telemetry';
import { GetUserRequest, User, UserServiceService, protoMetadata as userProto } from '@platform/contracts/user/v1/user';
import { inMemoryUserHandlers } from '@platform/user-service';

/** Every user exists: CreateOrder is measured without the call to User, in both protocols alike. */
const everyoneExists = { assertUserExists: async () => undefined };

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.INVALID_ARGUMENT]: 400,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.FAILED_PRECONDITION]: 412,
};

async function main(): Promise<void> {
  const logger = createLogger({ name: 'bench', level: 'silent' });
  const registry = createRegistry();
  const pageTokens = new PageTokens(randomBytes(32));
  const userHandlers = inMemoryUserHandlers({ registry, pageTokens, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
  const orderHandlers = inMemoryOrderHandlers({
    users: everyoneExists,
    registry,
    logger,
    pageTokens,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  });

  const grpc = new GrpcServer({ host: '127.0.0.1', port: 0, logger, protoFiles: [userProto, orderProto], shutdownGraceMs: 1000 });
  grpc.addService(UserServiceService, userHandlers);
  grpc.addService(OrderServiceService, orderHandlers);
  const grpcPort = await grpc.start();
  grpc.setServing(true);

  // Seed one user whose bytes the bare server answers with.
  const seeded = await userHandlers.createUser({ email: 'bench@example.com', displayName: 'Bench' }, httpContext());

  const context = httpContext();
  const routes: Record<string, (body: unknown) => Promise<unknown>> = {
    '/user.v1.UserService/GetUser': async (body) => User.toJSON(await userHandlers.getUser(GetUserRequest.fromJSON(body), context)),
    '/order.v1.OrderService/CreateOrder': async (body) =>
      Order.toJSON(await orderHandlers.createOrder(CreateOrderRequest.fromJSON(body), context)),
  };
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const route = request.method === 'POST' && request.url ? routes[request.url] : undefined;
      if (!route) {
        response.writeHead(404).end();
        return;
      }
      route(JSON.parse(body || '{}')).then(
        (result) => {
          const json = JSON.stringify(result);
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) }).end(json);
        },
        (error: unknown) => {
          const status = error instanceof AppError ? (HTTP_STATUS[error.code] ?? 500) : 500;
          response
            .writeHead(status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ message: error instanceof AppError ? error.message : 'internal error' }));
        },
      );
    });
  });
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

  // The same GetUser answer, without the service around it.
  const answer = Buffer.from(User.encode(seeded).finish());
  const bare = new Server();
  bare.addService(
    {
      getUser: { ...UserServiceService.getUser, requestDeserialize: (bytes: Buffer) => bytes, responseSerialize: (bytes: Buffer) => bytes },
    },
    { getUser: (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, answer) },
  );
  const barePort = await new Promise<number>((resolve, reject) =>
    bare.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );

  process.stdout.write(
    `${JSON.stringify({ grpcPort, httpPort: (http.address() as { port: number }).port, barePort, userId: seeded.id })}\n`,
  );
  // The harness holds our stdin open: when it ends, however it ends, so do we, instead of lingering and skewing the next run.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function httpContext(): CallContext {
  return {
    method: 'http',
    metadata: undefined as never,
    deadline: Infinity,
    peer: 'http',
    signal: new AbortController().signal,
    sendHeaders: () => undefined,
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
