import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

/** The project's Prometheus configuration, as the Compose stack mounts it. */
export const PROMETHEUS_CONFIG = path.resolve(__dirname, '../../prometheus/prometheus.yml');

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: unknown[];
}

/**
 * The project's own configuration, run outside Compose: the services' jobs
 * point at where the test runs them instead of Compose's DNS names, scraped
 * every second; jobs the test does
 * not run (Prometheus itself on its default port) are left out; rule files
 * are resolved against the project's folder, since the config is written
 * elsewhere.
 */
export function localPrometheusConfig(targets: Record<string, string[]>, options: { scrapeInterval?: string } = {}): string {
  const config = parse(readFileSync(PROMETHEUS_CONFIG, 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: ScrapeConfig[];
    rule_files?: string[];
  };
  const interval = options.scrapeInterval ?? '1s';
  config.global.scrape_interval = interval;
  config.global.evaluation_interval = interval;
  config.scrape_configs = config.scrape_configs
    .filter((job) => job.job_name in targets)
    .map(({ dns_sd_configs: _compose, ...job }) => ({ ...job, static_configs: [{ targets: targets[job.job_name]! }] }));
  if (config.rule_files) config.rule_files = config.rule_files.map((file) => path.resolve(path.dirname(PROMETHEUS_CONFIG), file));
  return stringify(config);
}
