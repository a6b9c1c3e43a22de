import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelCredentials, ConfigError, parseEnv, serviceEnvShape, tlsFromEnv, toServiceConfig } from '../src';

describe('configuration', () => {
  const shape = serviceEnvShape({ grpcPort: 50051, metricsPort: 9464, maxReceiveMessageBytes: 16384 });

  it('applies defaults and treats empty values as unset', () => {
    const config = toServiceConfig(parseEnv(shape, { GRPC_PORT: '', LOG_LEVEL: 'debug' }));
    assert.equal(config.grpcPort, 50051);
    assert.equal(config.metricsPort, 9464);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.databaseUrl, undefined);
  });

  it('serves /metrics on the gRPC host unless METRICS_HOST says otherwise', () => {
    assert.equal(toServiceConfig(parseEnv(shape, {})).metricsHost, '0.0.0.0');
    assert.equal(toServiceConfig(parseEnv(shape, { GRPC_HOST: '127.0.0.2' })).metricsHost, '127.0.0.2');
    assert.equal(toServiceConfig(parseEnv(shape, { GRPC_HOST: '127.0.0.2', METRICS_HOST: '0.0.0.0' })).metricsHost, '0.0.0.0');
  });

  it('stops with one message naming every bad variable', () => {
    assert.throws(
      () => parseEnv(shape, { GRPC_PORT: 'http', METRICS_PORT: '70000', DATABASE_URL: 'mysql://x/y', LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['GRPC_PORT', 'METRICS_PORT', 'DATABASE_URL', 'LOG_LEVEL']) assert.match(error.message, new RegExp(name));
        return true;
      },
    );
  });

  const load = (env: NodeJS.ProcessEnv) => toServiceConfig(parseEnv(shape, env));
  /** The message of the ConfigError `load` throws for this environment. */
  const problem = (env: NodeJS.ProcessEnv) => {
    try {
      load(env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
  };

  it('defaults the resilience settings: 4 MiB messages, connections never aged out, no drain delay, no TLS, no rate limit', () => {
    const config = load({});
    assert.equal(config.grpcMaxMessageBytes, 4 * 1024 * 1024);
    assert.equal(config.grpcMaxReceiveMessageBytes, 16384, "the service's own default");
    assert.equal(config.grpcMaxConnectionAgeMs, 0);
    assert.equal(config.grpcMetrics, true);
    assert.equal(config.grpcMaxConnectionAgeGraceMs, undefined);
    assert.equal(config.shutdownDrainDelayMs, 0);
    assert.equal(config.tls, undefined);
    assert.equal(config.rateLimit, undefined);
  });

  it('reads the resilience settings', () => {
    const config = load({
      GRPC_MAX_MESSAGE_BYTES: '1048576',
      GRPC_MAX_CONNECTION_AGE_MS: '60000',
      GRPC_MAX_CONNECTION_AGE_GRACE_MS: '5000',
      SHUTDOWN_DRAIN_DELAY_MS: '2000',
      TLS_CA_FILE: '/certs/ca.pem',
      TLS_CERT_FILE: '/certs/user.pem',
      TLS_KEY_FILE: '/certs/user.key',
      RATE_LIMIT_PER_SECOND: '50',
      RATE_LIMIT_BURST: '100',
      REDIS_URL: 'redis://redis:6379',
    });
    assert.equal(config.grpcMaxMessageBytes, 1_048_576);
    assert.equal(config.grpcMaxConnectionAgeMs, 60_000);
    assert.equal(config.grpcMaxConnectionAgeGraceMs, 5000);
    assert.equal(config.shutdownDrainDelayMs, 2000);
    assert.deepEqual(config.tls, { caFile: '/certs/ca.pem', certFile: '/certs/user.pem', keyFile: '/certs/user.key' });
    assert.deepEqual(config.rateLimit, { perSecond: 50, burst: 100, redisUrl: 'redis://redis:6379' });
  });

  it('wants all three TLS files or none, naming the missing ones', () => {
    const message = problem({ TLS_CERT_FILE: '/certs/user.pem' });
    assert.match(message, /TLS_CA_FILE: required/);
    assert.match(message, /TLS_KEY_FILE: required/);
    assert.doesNotMatch(message, /TLS_CERT_FILE: required/);
    assert.throws(() => tlsFromEnv({ TLS_KEY_FILE: '/certs/user.key' }), ConfigError);
    assert.equal(tlsFromEnv({}), undefined);
  });

  it('stops when a TLS file cannot be read, naming its variable', () => {
    assert.throws(
      () =>
        channelCredentials({ tls: { caFile: '/nonexistent/ca.pem', certFile: '/nonexistent/user.pem', keyFile: '/nonexistent/user.key' } }),
      (error: unknown) => error instanceof ConfigError && /TLS_CA_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/.test(error.message),
    );
  });

  it('rejects bad and pointless resilience settings', () => {
    const message = problem({
      GRPC_MAX_MESSAGE_BYTES: '0',
      GRPC_MAX_CONNECTION_AGE_MS: '-1',
      SHUTDOWN_DRAIN_DELAY_MS: 'soon',
      RATE_LIMIT_PER_SECOND: '-5',
      REDIS_URL: 'http://redis:6379',
    });
    for (const name of [
      'GRPC_MAX_MESSAGE_BYTES',
      'GRPC_MAX_CONNECTION_AGE_MS',
      'SHUTDOWN_DRAIN_DELAY_MS',
      'RATE_LIMIT_PER_SECOND',
      'REDIS_URL',
    ])
      assert.match(message, new RegExp(name));
    // Set without a rate, these would silently do nothing.
    assert.match(problem({ RATE_LIMIT_BURST: '10' }), /RATE_LIMIT_BURST: set while rate limiting is off/);
    assert.match(problem({ REDIS_URL: 'redis://redis:6379' }), /REDIS_URL: set while rate limiting is off/);
  });

  it('serves browsers only when WEB_PORT is set, on the gRPC host unless WEB_HOST says otherwise', () => {
    assert.equal(load({}).web, undefined);
    assert.deepEqual(
      load({ GRPC_HOST: '127.0.0.2', WEB_PORT: '8080', WEB_ALLOWED_ORIGINS: ' http://127.0.0.1:8080 ,https://shop.example ' }).web,
      {
        host: '127.0.0.2',
        port: 8080,
        allowedOrigins: ['http://127.0.0.1:8080', 'https://shop.example'],
      },
    );
    assert.deepEqual(load({ WEB_PORT: '0', WEB_HOST: '::1' }).web, { host: '::1', port: 0, allowedOrigins: [] });
  });

  it('refuses what is not an origin, and web settings while the endpoint is off', () => {
    // A path, a trailing slash, another scheme: browsers send none of these as Origin, so they would match nothing.
    const message = problem({ WEB_PORT: '8080', WEB_ALLOWED_ORIGINS: 'http://shop.example/,https://shop.example/app,ftp://files.example' });
    for (const origin of ['http://shop.example/', 'https://shop.example/app', 'ftp://files.example'])
      assert.ok(message.includes(origin), message);
    assert.match(problem({ WEB_PORT: 'web' }), /WEB_PORT/);
    assert.match(problem({ WEB_ALLOWED_ORIGINS: 'http://127.0.0.1:8080' }), /WEB_ALLOWED_ORIGINS: set while the web endpoint is off/);
    assert.match(problem({ WEB_HOST: '127.0.0.1' }), /WEB_HOST: set while the web endpoint is off/);
  });
});
