import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '@platform/service-kit';
import { durationMs, parseOptions } from '../src';

describe('traffic options', () => {
  it('take flags over environment over defaults', () => {
    const options = parseOptions(['--rate', '20', '--duration', '2m'], {
      TRAFFIC_RATE: '3',
      TRAFFIC_ORDER_ADDR: 'order:50052',
      TRAFFIC_SEED: '7',
    });
    assert.equal(options.rate, 20);
    assert.equal(options.durationMs, 120_000);
    assert.equal(options.orderAddr, 'order:50052');
    assert.equal(options.userAddr, 'localhost:50051');
    assert.equal(options.seed, 7);
    assert.equal(options.scenario, 'mixed');
    assert.equal(options.maxErrorRate, 0.01);
    assert.equal(options.count, undefined);
    assert.equal(parseOptions([], { TRAFFIC_HEARTBEAT_FILE: '/tmp/beat' }).heartbeatFile, '/tmp/beat');
  });

  it('read the TLS_* variables for mTLS, all three or none', () => {
    assert.equal(parseOptions([], {}).tls, undefined);
    assert.deepEqual(parseOptions([], { TLS_CA_FILE: '/c/ca.pem', TLS_CERT_FILE: '/c/traffic.pem', TLS_KEY_FILE: '/c/traffic.key' }).tls, {
      caFile: '/c/ca.pem',
      certFile: '/c/traffic.pem',
      keyFile: '/c/traffic.key',
    });
    assert.throws(
      () => parseOptions([], { TLS_CA_FILE: '/c/ca.pem' }),
      (error: unknown) => error instanceof UsageError && /TLS_CERT_FILE: required/.test(error.message),
    );
  });

  it('draw a seed when none is given', () => {
    assert.equal(parseOptions([], {}, () => 1234).seed, 1234);
  });

  it('reject bad values with a sentence naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--rate', 'fast'], /--rate must be a number/],
      [['--count', '2.5'], /--count must be a whole number/],
      [['--scenario', 'dancer'], /--scenario must be one of mixed, shopper, browser, bulk/],
      [['--duration', '10 minutes'], /--duration: "10 minutes" is not a duration/],
      [['--error-rate', '2'], /--error-rate must be a number in 0..1/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      assert.throws(
        () => parseOptions(argv, {}),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
        argv.join(' '),
      );
    }
  });

  it('read durations in ms, s, m and h, as fault specs do; a bare number is ambiguous and refused', () => {
    assert.equal(durationMs('--d', '500ms'), 500);
    assert.equal(durationMs('--d', '1.5s'), 1500);
    assert.equal(durationMs('--d', '90s'), 90_000);
    assert.equal(durationMs('--d', '1h'), 3_600_000);
    assert.throws(
      () => durationMs('--deadline', '10'),
      (error: unknown) => error instanceof UsageError && error.message === '--deadline: "10" is not a duration such as 200ms, 1.5s or 5m',
    );
  });
});
