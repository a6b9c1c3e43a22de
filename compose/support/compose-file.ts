import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const COMPOSE_DIR = path.resolve(__dirname, '../..');
export const COMPOSE_FILE = path.join(COMPOSE_DIR, 'docker-compose.yml');
/** Laid over COMPOSE_FILE, with its profile mtls: mutual TLS between the gRPC processes. */
export const MTLS_OVERRIDE_FILE = path.join(COMPOSE_DIR, 'docker-compose.mtls.yml');
export const ENV_FILE = path.join(COMPOSE_DIR, '.env');

export interface ComposeService {
  image?: string;
  profiles?: string[];
  build?: unknown;
  command?: string[];
  working_dir?: string;
  restart?: string;
  stop_grace_period?: string;
  healthcheck?: { test: string[] | string; interval?: string; timeout?: string; retries?: number };
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  deploy?: { replicas?: number; resources?: { limits?: { memory?: string } } };
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** compose/.env as Compose reads it: KEY=VALUE lines, # comments. */
export function readEnvFile(file = ENV_FILE): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!.trim();
  }
  return env;
}

/** The `${NAME}` references of the file (`$${...}` is an escaped dollar, not a reference). */
export function variableReferences(text: string): string[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}/g)].map((match) => match[1]!);
}

/**
 * The file as Compose sees it before validating: variables from .env
 * substituted, `$$` unescaped, YAML anchors and merge keys resolved.
 */
export function loadCompose(env = readEnvFile(), file = COMPOSE_FILE): { raw: string; model: ComposeFile } {
  const raw = readFileSync(file, 'utf8');
  const interpolated = raw.replace(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '').replaceAll('$$', '$');
  return { raw, model: parse(interpolated, { merge: true }) as ComposeFile };
}

/** "192M" -> 192 MiB, "1152M" -> 1152, "1G" -> 1024. */
export function mebibytes(limit: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg])?b?$/i.exec(limit.trim());
  if (!match) throw new Error(`not a memory size: ${limit}`);
  const factor = { k: 1 / 1024, m: 1, g: 1024 }[(match[2] ?? 'm').toLowerCase() as 'k' | 'm' | 'g'];
  return Number(match[1]) * factor;
}

/**
 * An override laid over a base file as Compose merges them, as far as these
 * checks need: mappings merge key by key, the override's scalars win, and
 * sequences (volumes, ports) are joined.
 */
export function overlay<T>(base: T, override: unknown): T {
  if (Array.isArray(base) && Array.isArray(override)) return [...base, ...override] as T;
  if (isMapping(base) && isMapping(override)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(override)) merged[key] = key in base ? overlay(base[key], value) : value;
    return merged as T;
  }
  return (override ?? base) as T;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
