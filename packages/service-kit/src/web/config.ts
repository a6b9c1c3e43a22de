import { z } from 'zod';
import { envVar } from '../env';

/** The web endpoint's section of the configuration: gRPC-Web and Connect for browsers; see WebEndpoint. */
export interface WebEndpointConfig {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Origins whose pages may call (CORS); a request from any other origin is refused. */
  allowedOrigins: readonly string[];
}

/** The web endpoint's environment variables; spread into serviceEnvShape. */
export const webEndpointEnvShape = {
  // Unset: no web endpoint.
  WEB_PORT: envVar.port(0).unwrap().optional(),
  // Unset: the gRPC host.
  WEB_HOST: z.string().min(1).optional(),
  // Comma-separated origins (scheme://host[:port]) of the pages that call the endpoint.
  WEB_ALLOWED_ORIGINS: z
    .string()
    .optional()
    .transform((list, ctx) => {
      const origins = (list ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== '');
      for (const origin of origins) {
        if (!isOrigin(origin)) ctx.addIssue({ code: 'custom', message: `${origin} is not an origin such as http://127.0.0.1:8080` });
      }
      return origins;
    }),
};

/** The section, or undefined when off; settings that would do nothing are added to `problems`. */
export function toWebEndpointConfig(
  parsed: z.output<z.ZodObject<typeof webEndpointEnvShape>>,
  grpcHost: string,
  problems: string[],
): WebEndpointConfig | undefined {
  if (parsed.WEB_PORT === undefined) {
    if (parsed.WEB_ALLOWED_ORIGINS.length > 0) problems.push('WEB_ALLOWED_ORIGINS: set while the web endpoint is off; also set WEB_PORT');
    if (parsed.WEB_HOST !== undefined) problems.push('WEB_HOST: set while the web endpoint is off; also set WEB_PORT');
    return undefined;
  }
  return { host: parsed.WEB_HOST ?? grpcHost, port: parsed.WEB_PORT, allowedOrigins: parsed.WEB_ALLOWED_ORIGINS };
}

/** An origin as browsers send it: scheme, host and port only, no path. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === text;
  } catch {
    return false;
  }
}
