import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DASHBOARDS } from './index';
import { recordingRulesYaml } from './slo';

/** Where the generated JSON lives (committed; Grafana's provisioning reads it). */
export const GENERATED_DIR = path.resolve(__dirname, '../../generated');
/** The generated recording rules (committed; Prometheus loads them, promtool tests them). */
export const RECORDING_RULES_FILE = path.resolve(__dirname, '../../../observability/prometheus/rules/recording.yml');

export function renderDashboard(definition: (typeof DASHBOARDS)[number]): string {
  return `${JSON.stringify(definition.toGrafanaJson(), null, 2)}\n`;
}

if (require.main === module) {
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const definition of DASHBOARDS) {
    const file = path.join(GENERATED_DIR, `${definition.spec.uid}.json`);
    writeFileSync(file, renderDashboard(definition));
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
  writeFileSync(RECORDING_RULES_FILE, recordingRulesYaml());
  process.stdout.write(`wrote ${path.relative(process.cwd(), RECORDING_RULES_FILE)}\n`);
}
