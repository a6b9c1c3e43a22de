import { readFileSync } from 'node:fs';
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { TlsFiles } from './config';
import { ConfigError } from './env';

/**
 * Server credentials: plaintext without TLS files; with them, TLS that
 * requires every caller to present a certificate signed by the CA (mTLS).
 */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const { ca, cert, key } = readTlsFiles(tls);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
}

/**
 * Channel credentials for calling another service of the platform: plaintext
 * without TLS files; with them, TLS that trusts only the CA and presents this
 * process's certificate. Servers and clients read the same TLS_* variables.
 */
export function channelCredentials(config: { tls?: TlsFiles | undefined }): ChannelCredentials {
  if (config.tls === undefined) return credentials.createInsecure();
  const { ca, cert, key } = readTlsFiles(config.tls);
  return credentials.createSsl(ca, key, cert);
}

/** Read when credentials are made, so that a missing file stops start-up with the variable that names it. */
function readTlsFiles(tls: TlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  const problems: string[] = [];
  const read = (variable: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      problems.push(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return Buffer.alloc(0);
    }
  };
  const files = { ca: read('TLS_CA_FILE', tls.caFile), cert: read('TLS_CERT_FILE', tls.certFile), key: read('TLS_KEY_FILE', tls.keyFile) };
  if (problems.length > 0) throw ConfigError.of(problems);
  return files;
}
