import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseEnv, serviceEnvShape, toServiceConfig } from '../src';

describe('configuration', () => {
  const shape = serviceEnvShape({ grpcPort: 50051, metricsPort: 9464 });

  it('applies defaults and treats empty values as unset', () => {
    const config = toServiceConfig(parseEnv(shape, { GRPC_PORT: '', LOG_LEVEL: 'debug' }));
    assert.equal(config.grpcPort, 50051);
    assert.equal(config.metricsPort, 9464);
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.databaseUrl, undefined);
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
});
