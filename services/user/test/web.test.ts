import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { credentials } from '@grpc/grpc-js';
import { Code as ConnectCode, ConnectError } from '@connectrpc/connect';
import { RetryInfoSchema } from '@platform/contracts/google/rpc/error_details_pb';
import { UserServiceClient } from '@platform/contracts/user/v1/user';
import { UserService } from '@platform/contracts/user/v1/user_pb';
import {
  expectViolations,
  startInProcess,
  testConfig,
  testWebEndpoint,
  unary,
  expectWebFailure,
  WEB_PROTOCOLS,
  webClient,
  type InProcessService,
} from '@platform/testing';
import { SERVICE_NAME, startUserService } from '../src/internal/server';

const PAGE_ORIGIN = 'http://127.0.0.1:8090';

/** A CORS preflight for a POST from `origin`: status and the response's headers. */
function preflight(url: string, origin: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}/user.v1.UserService/CreateUser`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent,traceparent',
      },
    });
    outgoing.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A header's comma-separated names, in lower case: header names are case-insensitive. */
function headerList(value: unknown): string[] {
  return String(value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase());
}

describe('user.v1.UserService over gRPC-Web and Connect (the web endpoint)', () => {
  let service: InProcessService;
  let grpc: UserServiceClient;

  before(async () => {
    service = await startInProcess(SERVICE_NAME, startUserService, testConfig({ web: testWebEndpoint([PAGE_ORIGIN]) }));
    grpc = new UserServiceClient(service.address, credentials.createInsecure());
  });

  after(async () => {
    grpc?.close();
    await service?.stop();
  });

  for (const protocol of WEB_PROTOCOLS) {
    it(`${protocol}: creates, gets and lists users; errors as on the gRPC port`, async () => {
      const web = webClient(UserService, service.webUrl!, protocol, { origin: PAGE_ORIGIN });
      const created = await web.createUser({ email: `${protocol}@example.com`, displayName: '  Browser  ' });
      assert.equal(created.displayName, 'Browser');
      assert.equal((await unary(grpc, grpc.getUser)({ id: created.id })).email, created.email);
      assert.equal((await web.getUser({ id: created.id })).id, created.id);
      assert.ok((await web.listUsers({ pageSize: 100 })).users.some((user) => user.id === created.id));

      const invalid = { email: 'not-an-email', displayName: '' };
      const { code, fields } = await expectWebFailure(web.createUser(invalid));
      assert.equal(code, ConnectCode.InvalidArgument);
      assert.deepEqual(fields, await expectViolations(unary(grpc, grpc.createUser)(invalid)));
      assert.deepEqual(fields, ['email', 'display_name']);
      assert.equal(
        (await expectWebFailure(web.createUser({ email: created.email, displayName: 'Again' }))).code,
        ConnectCode.AlreadyExists,
      );
      assert.equal((await expectWebFailure(web.getUser({ id: '7b1f8c2e-4a5d-4e6f-8a9b-0c1d2e3f4a5b' }))).code, ConnectCode.NotFound);
    });
  }

  it("answers a preflight from the page's origin, allowing trace context and exposing the status headers", async () => {
    const { status, headers } = await preflight(service.webUrl!, PAGE_ORIGIN);
    assert.equal(status, 204);
    assert.equal(headers['access-control-allow-origin'], PAGE_ORIGIN);
    const allowed = headerList(headers['access-control-allow-headers']);
    for (const header of ['traceparent', 'tracestate', 'x-grpc-web', 'content-type'])
      assert.ok(allowed.includes(header), `${header} not allowed`);
  });

  it('refuses a preflight, and a call, from any other origin', async () => {
    const { status, headers } = await preflight(service.webUrl!, 'http://evil.example');
    assert.equal(status, 403);
    assert.equal(headers['access-control-allow-origin'], undefined);
    const web = webClient(UserService, service.webUrl!, 'connect', { origin: 'http://evil.example' });
    assert.equal((await expectWebFailure(web.listUsers({ pageSize: 1 }))).code, ConnectCode.PermissionDenied);
  });

  it('exposes grpc-status, grpc-message, grpc-status-details-bin and x-trace-id to the page', async () => {
    const response = await fetch(`${service.webUrl!}/user.v1.UserService/ListUsers`, {
      method: 'POST',
      headers: { origin: PAGE_ORIGIN, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(response.status, 200);
    const exposed = headerList(response.headers.get('access-control-expose-headers'));
    for (const header of ['grpc-status', 'grpc-message', 'grpc-status-details-bin', 'x-trace-id'])
      assert.ok(exposed.includes(header), `${header} not exposed`);
  });
});

describe('rate limiting on the web endpoint', () => {
  let service: InProcessService;

  before(async () => {
    service = await startInProcess(
      SERVICE_NAME,
      startUserService,
      testConfig({ web: testWebEndpoint(), rateLimit: { perSecond: 1, burst: 0, redisUrl: undefined } }),
    );
  });

  after(async () => {
    await service?.stop();
  });

  it('refuses a caller over its budget with RESOURCE_EXHAUSTED and RetryInfo, as on the gRPC port', async () => {
    const web = webClient(UserService, service.webUrl!, 'grpc_web', { 'x-client-id': 'page-under-test' });
    // 1 per second, no burst: ten calls cannot all pass unless they are spread over 9 s.
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        web.listUsers({ pageSize: 1 }).then(
          () => undefined,
          (error: unknown) => ConnectError.from(error),
        ),
      ),
    );
    const refused = outcomes.filter((outcome) => outcome !== undefined);
    assert.ok(refused.length >= 1, 'no call was refused');
    for (const error of refused) {
      assert.equal(error.code, ConnectCode.ResourceExhausted);
      assert.equal(error.findDetails(RetryInfoSchema).length, 1);
    }
  });
});
