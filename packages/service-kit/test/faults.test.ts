import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createRegistry } from '@platform/telemetry';
import {
  AppError,
  Code,
  ConfigError,
  FaultInjector,
  faultSpec,
  formatFaults,
  parseEnv,
  serviceEnvShape,
  toServiceConfig,
  type Fault,
} from '../src';

/** Seeded draws in [0, 1), the same on every run: pure-rand, as the traffic generator and the fuzzer use. */
function seeded(seed: number): () => number {
  const generator = xoroshiro128plus(seed);
  return () => uniformFloat64(generator);
}

function parse(spec: string): Fault[] {
  return faultSpec.parse(spec);
}

/** The problems faultSpec reports for a spec, one per issue. */
function problems(spec: string): string[] {
  const result = faultSpec.safeParse(spec);
  assert.ok(!result.success, `expected "${spec}" to be rejected`);
  return result.error.issues.map((issue) => issue.message);
}

function injector(faults: Fault[], random: () => number = seeded(1)): FaultInjector {
  return new FaultInjector({ registry: createRegistry(), faults, random });
}

const never = new AbortController().signal;

describe('fault specs', () => {
  it('reads every effect and writes the same spec back', () => {
    const spec =
      '*:latency=50ms;order.v1.OrderService/CreateOrder:latency=200ms..800ms,error=UNAVAILABLE@0.2;user.v1.UserService/GetUser:error=INTERNAL@1';
    const faults = parse(spec);
    assert.deepEqual(faults[1], {
      method: 'order.v1.OrderService/CreateOrder',
      latencyMin: 200,
      latencyMax: 800,
      errorCode: Code.UNAVAILABLE,
      errorProbability: 0.2,
    });
    assert.equal(formatFaults(faults), spec);
    assert.deepEqual(parse(formatFaults(faults)), faults);
  });

  it('accepts seconds, a leading slash, lower-case codes, spaces, and error without a probability', () => {
    assert.deepEqual(parse(' /user.v1.UserService/GetUser : latency = 1.5s , error = deadline_exceeded ; '), [
      { method: 'user.v1.UserService/GetUser', latencyMin: 1500, latencyMax: 1500, errorCode: Code.DEADLINE_EXCEEDED, errorProbability: 1 },
    ]);
    assert.deepEqual(parse('*:latency=1.1s..2s'), [
      { method: '*', latencyMin: 1100, latencyMax: 2000, errorCode: Code.OK, errorProbability: 0 },
    ]);
    assert.deepEqual(parse(''), []);
  });

  it('reports every problem, each naming its fault', () => {
    const reported = problems(
      'nomethod;*:latency=2m;a.B/C:latency=900ms..100ms;a.B/C:error=OK;a.B/D:error=NOPE@0.5;*:error=UNAVAILABLE@1.5,latency=70s',
    );
    assert.deepEqual(reported, [
      '"nomethod": expected method:effect, e.g. order.v1.OrderService/GetOrder:error=UNAVAILABLE@0.5',
      '"*:latency=2m": latency_min must be between 0 and 60s',
      '"a.B/C:latency=900ms..100ms": latency_max must not be less than latency_min',
      '"a.B/C:error=OK": error_code must name an error status (not OK) when error_probability is above 0',
      '"a.B/D:error=NOPE@0.5": error "NOPE@0.5" must be a gRPC status name, optionally with @probability (UNAVAILABLE@0.2)',
      '"*:error=UNAVAILABLE@1.5,latency=70s": latency_min must be between 0 and 60s',
      '"*:error=UNAVAILABLE@1.5,latency=70s": error_probability must be between 0 and 1',
    ]);
    assert.match(problems('OrderService/CreateOrder:latency=1ms')[0]!, /method must be \* or a full method name/);
    assert.match(problems('*:latency=0ms')[0]!, /must add latency, inject an error, or both/);
    assert.match(problems('*:latency=0.5ms')[0]!, /whole number of milliseconds/);
    assert.match(problems('*:delay=5ms')[0]!, /"delay=5ms" is not an effect/);
    assert.match(problems('*:latency=5ms,latency=6ms')[0]!, /latency is given twice/);
    assert.match(problems('*:latency=5ms;/*:latency=6ms')[0]!, /\* already has a fault/);
  });

  it("comes from FAULTS, which needs FAULT_INJECTION_ENABLED, as the admin listener's FAULT_ADMIN_HOST and FAULT_ADMIN_PORT do; a bad setting is a ConfigError naming it", () => {
    const shape = serviceEnvShape({ grpcPort: 50051, metricsPort: 9464, maxReceiveMessageBytes: 16384 });
    assert.equal(toServiceConfig(parseEnv(shape, {})).faultInjection, undefined);
    // The admin listener: loopback, the gRPC port + 20, unless told otherwise.
    assert.deepEqual(toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: '1' })).faultInjection, {
      faults: [],
      adminHost: '127.0.0.1',
      adminPort: 50071,
    });
    assert.deepEqual(toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: '1', GRPC_PORT: '0' })).faultInjection?.adminPort, 0);
    assert.deepEqual(
      toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: '1', FAULT_ADMIN_HOST: '0.0.0.0', FAULT_ADMIN_PORT: '6000' }))
        .faultInjection,
      {
        faults: [],
        adminHost: '0.0.0.0',
        adminPort: 6000,
      },
    );
    assert.deepEqual(
      toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: 'true', FAULTS: '*:latency=5ms' })).faultInjection?.faults,
      parse('*:latency=5ms'),
    );
    const configError = (run: () => unknown, pattern: RegExp) =>
      assert.throws(run, (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    configError(() => toServiceConfig(parseEnv(shape, { FAULTS: '*:latency=5ms' })), /FAULTS: .*FAULT_INJECTION_ENABLED=true/);
    configError(
      () => parseEnv(shape, { FAULT_INJECTION_ENABLED: 'true', FAULTS: '*:latency=soon' }),
      /FAULTS: "\*:latency=soon": "soon" is not a duration/,
    );
    configError(() => parseEnv(shape, { FAULT_INJECTION_ENABLED: 'yes' }), /FAULT_INJECTION_ENABLED: must be true, false, 1 or 0/);
    configError(() => toServiceConfig(parseEnv(shape, { FAULT_ADMIN_PORT: '6000' })), /FAULT_ADMIN_PORT: .*FAULT_INJECTION_ENABLED=true/);
    configError(
      () => toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: '1', FAULT_ADMIN_PORT: '50051' })),
      /FAULT_ADMIN_PORT: must differ from GRPC_PORT/,
    );
    configError(
      () => toServiceConfig(parseEnv(shape, { FAULT_INJECTION_ENABLED: '1', GRPC_PORT: '65530' })),
      /FAULT_ADMIN_PORT: GRPC_PORT \+ 20 is beyond 65535/,
    );
  });
});

describe('FaultInjector', () => {
  it('fails about 30% of calls over a deterministic sequence of 2000 draws at probability 0.3', async () => {
    // ±0.03 is three standard deviations of 2000 draws; a seed far in the tail (42 is, with pure-rand) would fail it.
    const faults = injector(parse('a.B/C:error=UNAVAILABLE@0.3'), seeded(1));
    let failed = 0;
    for (let call = 0; call < 2000; call++) {
      await faults.apply('/a.B/C', never).catch((error: unknown) => {
        assert.ok(error instanceof AppError && error.code === Code.UNAVAILABLE);
        failed += 1;
      });
    }
    assert.ok(Math.abs(failed / 2000 - 0.3) <= 0.03, `error rate ${failed / 2000}`);
  });

  it("applies a method's own fault before *, and nothing to other methods once cleared", async () => {
    const faults = injector(parse('*:error=INTERNAL;a.B/C:error=NOT_FOUND'));
    await assert.rejects(
      faults.apply('/a.B/C', never),
      (error: AppError) => error.code === Code.NOT_FOUND && /^injected fault: NOT_FOUND/.test(error.message),
    );
    await assert.rejects(
      faults.apply('/a.B/D', never),
      (error: AppError) => error.code === Code.INTERNAL && /fault on \*/.test(error.message),
    );
    assert.equal(faults.clear('/a.B/C'), 1);
    assert.equal(faults.clear('a.B/C'), 0);
    await assert.rejects(faults.apply('/a.B/C', never), (error: AppError) => error.code === Code.INTERNAL);
    assert.equal(faults.clear(), 1);
    assert.deepEqual(faults.list(), []);
    await faults.apply('/a.B/C', never);
  });

  it('delays the call by a latency drawn from the range, and stops waiting when the call is cancelled', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    // The draw 0.25 puts the latency a quarter of the way from 200 to 600 ms.
    const faults = injector(parse('a.B/C:latency=200ms..600ms'), () => 0.25);
    let done = false;
    const call = faults.apply('/a.B/C', never).then(() => (done = true));
    t.mock.timers.tick(299);
    await settle();
    assert.equal(done, false, 'still waiting after 299 ms');
    t.mock.timers.tick(1);
    await call;
    assert.equal(done, true, 'released at 300 ms');

    const cancel = new AbortController();
    const cancelled = faults.apply('/a.B/C', cancel.signal);
    t.mock.timers.tick(10);
    cancel.abort(new AppError(Code.CANCELLED, 'cancelled by the caller'));
    await assert.rejects(cancelled, (error: AppError) => error.code === Code.CANCELLED);
  });

  it('replaces the fault of a method when set again', () => {
    const faults = injector(parse('a.B/C:latency=5ms'));
    faults.set(parse('/a.B/C:error=ABORTED@0.5')[0]!);
    assert.equal(formatFaults(faults.list()), 'a.B/C:error=ABORTED@0.5');
  });
});

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
