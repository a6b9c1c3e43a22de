import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, as far as the checks read it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // The checks walk each kind's own fields.
  [field: string]: unknown;
}

export const KUBERNETES_DIR = path.resolve(__dirname, '../..');

/**
 * `kubectl kustomize` of an overlay (or the base), as objects. The demo
 * overlay reads the Compose stack's files from outside its directory, hence
 * the load restrictor, as in npm run k8s:up.
 */
export function render(kustomization: string, components: string[] = []): K8sObject[] {
  if (components.length > 0) kustomization = withComponents(kustomization, components);
  let output: string;
  try {
    output = execFileSync('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', path.join(KUBERNETES_DIR, kustomization)], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kubectl is not installed: these checks render the manifests with `kubectl kustomize` (kubectl 1.27 or later)');
    }
    throw error;
  }
  return parseAllDocuments(output).map((document) => document.toJSON() as K8sObject);
}

/**
 * A kustomization of `kustomization` plus optional `components`, written under
 * dist/ (kustomize takes only relative paths), as a user's overlay would
 * list them.
 */
function withComponents(kustomization: string, components: string[]): string {
  const relative = path.join('dist', 'kustomizations', [kustomization, ...components].join('+').replace(/\//g, '_'));
  const directory = path.join(KUBERNETES_DIR, relative);
  const up = path.relative(directory, KUBERNETES_DIR);
  mkdirSync(directory, { recursive: true });
  writeFileSync(
    path.join(directory, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      `  - ${path.join(up, kustomization)}`,
      'components:',
      ...components.map((component) => `  - ${path.join(up, component)}`),
      '',
    ].join('\n'),
  );
  return relative;
}
