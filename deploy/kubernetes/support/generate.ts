import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROMETHEUS_RULE_FILE, prometheusRuleYaml } from './prometheus-rule';

writeFileSync(PROMETHEUS_RULE_FILE, prometheusRuleYaml());
process.stdout.write(`wrote ${path.relative(process.cwd(), PROMETHEUS_RULE_FILE)}\n`);
