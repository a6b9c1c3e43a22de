import { z } from 'zod';
import { envVar, onStopSignals, parseEnv, runCommand } from '@platform/service-kit/command';
import { startStorefront } from './storefront';

const url = () => z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' });

/** The storefront server's environment; the defaults are the Compose stack's published ports. */
const storefrontEnvShape = {
  STOREFRONT_HOST: z.string().min(1).default('0.0.0.0'),
  STOREFRONT_PORT: envVar.port(8080),
  STOREFRONT_USER_URL: url().default('http://127.0.0.1:8081'),
  STOREFRONT_ORDER_URL: url().default('http://127.0.0.1:8083'),
  STOREFRONT_OTLP_TRACES_URL: url().default('http://127.0.0.1:4318/v1/traces'),
  STOREFRONT_JAEGER_URL: url().default('http://127.0.0.1:16686'),
  STOREFRONT_KIBANA_URL: url().default('http://127.0.0.1:5601'),
};

runCommand(
  async () => {
    const env = parseEnv(storefrontEnvShape);
    const storefront = await startStorefront({
      host: env.STOREFRONT_HOST,
      port: env.STOREFRONT_PORT,
      page: {
        userUrl: env.STOREFRONT_USER_URL,
        orderUrl: env.STOREFRONT_ORDER_URL,
        otlpTracesUrl: env.STOREFRONT_OTLP_TRACES_URL,
        jaegerUrl: env.STOREFRONT_JAEGER_URL,
        kibanaUrl: env.STOREFRONT_KIBANA_URL,
      },
    });
    process.stdout.write(`storefront serving at ${storefront.url}\n`);
    await new Promise<void>((resolve) => onStopSignals(() => void storefront.close().then(resolve)));
    return 0;
  },
  { name: 'storefront' },
);
