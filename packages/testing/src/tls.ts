import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TlsFiles } from '@platform/service-kit';

/** The repository's own script, so that tests prove the certificates it makes work. */
const GEN_CERTS = path.resolve(__dirname, '../../../../scripts/gen-certs.sh');

/** The processes scripts/gen-certs.sh makes a certificate for. */
export type CertificateName = 'user' | 'order' | 'traffic';

/** A CA and its certificates, made by scripts/gen-certs.sh in a temporary folder. */
export interface Certificates {
  readonly dir: string;
  readonly caFile: string;
  /** The TLS_* files of one process: this CA, and the process's certificate and key. */
  files(name: CertificateName): TlsFiles;
  remove(): void;
}

export function generateCertificates(): Certificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'grpc-platform-certs-'));
  execFileSync(GEN_CERTS, [dir], { stdio: 'pipe' });
  const caFile = path.join(dir, 'ca.pem');
  return {
    dir,
    caFile,
    files: (name) => ({ caFile, certFile: path.join(dir, `${name}.pem`), keyFile: path.join(dir, `${name}.key`) }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The TLS_* environment variables naming these files, for processes and CLIs. */
export function tlsEnv(files: TlsFiles): Record<'TLS_CA_FILE' | 'TLS_CERT_FILE' | 'TLS_KEY_FILE', string> {
  return { TLS_CA_FILE: files.caFile, TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile };
}
