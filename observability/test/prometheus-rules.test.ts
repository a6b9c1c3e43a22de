import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrometheus, type PrometheusServer } from '@platform/testing';
import { parse } from 'yaml';
import { localPrometheusConfig } from '../support/project-prometheus';

const PROMETHEUS_DIR = path.resolve(__dirname, '../../prometheus');
const RULES_DIR = path.join(PROMETHEUS_DIR, 'rules');
const TESTS_DIR = path.join(PROMETHEUS_DIR, 'tests');

const ruleFiles = readdirSync(RULES_DIR)
  .filter((name) => name.endsWith('.yml'))
  .sort();
const testFiles = readdirSync(TESTS_DIR)
  .filter((name) => name.endsWith('.test.yml'))
  .sort();

/** Runs promtool; throws (failing the test, never skipping it) when it is not installed. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `promtool is required for this test and could not be run (${result.error.message}): apt-get install prometheus, which ships it (CI installs it in .ci/run).`,
    );
  }
  return { status: result.status, output: `$ promtool ${args.join(' ')}\n${result.stdout}${result.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface AlertTestCase {
  alertname: string;
  exp_alerts?: unknown[] | null;
}

const readYaml = <T>(file: string) => parse(readFileSync(file, 'utf8')) as T;

const rulesIn = (file: string) =>
  readYaml<{ groups: { rules: Rule[] }[] }>(path.join(RULES_DIR, file)).groups.flatMap((group) => group.rules);

describe('Prometheus rules', () => {
  before(() => {
    // One clear failure up front rather than one per file.
    promtool('--version');
  });

  it('has rule files and rule tests to check', () => {
    assert.ok(ruleFiles.length > 0, `no *.yml in ${RULES_DIR}`);
    assert.ok(testFiles.length > 0, `no *.test.yml in ${TESTS_DIR}`);
  });

  for (const file of ruleFiles) {
    it(`promtool check rules rules/${file}`, () => {
      const { status, output } = promtool('check', 'rules', path.join('rules', file));
      assert.equal(status, 0, output);
    });
  }

  for (const file of testFiles) {
    it(`promtool test rules tests/${file}`, () => {
      const { status, output } = promtool('test', 'rules', path.join('tests', file));
      assert.equal(status, 0, output);
    });
  }

  it('tests every alert both firing and staying quiet, and labels every alert for routing', () => {
    const alerts = ruleFiles.flatMap(rulesIn).filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);
    assert.ok(alerts.length > 0, 'no alerting rules found');
    const cases = testFiles.flatMap((file) =>
      readYaml<{ tests: { alert_rule_test?: AlertTestCase[] }[] }>(path.join(TESTS_DIR, file)).tests.flatMap(
        (group) => group.alert_rule_test ?? [],
      ),
    );
    const problems: string[] = [];
    for (const { alert, labels, annotations } of alerts) {
      const mine = cases.filter((testCase) => testCase.alertname === alert);
      if (!mine.some((testCase) => (testCase.exp_alerts ?? []).length > 0)) problems.push(`${alert}: no test case where it fires`);
      if (!mine.some((testCase) => (testCase.exp_alerts ?? []).length === 0))
        problems.push(`${alert}: no test case where it must not fire`);
      if (!['page', 'ticket'].includes(labels?.severity ?? ''))
        problems.push(`${alert}: severity must be page or ticket, is ${labels?.severity}`);
      for (const annotation of ['summary', 'description', 'dashboard']) {
        if (!annotations?.[annotation]) problems.push(`${alert}: no ${annotation} annotation`);
      }
    }
    assert.deepEqual(problems, []);
  });

  describe('loaded by a real Prometheus through the project configuration', () => {
    let prometheus: PrometheusServer;
    const expectedRules = ruleFiles.flatMap(rulesIn).length;

    before(async () => {
      // Nothing to scrape: every rule must still evaluate, to no result rather than to an error.
      prometheus = await startPrometheus(localPrometheusConfig({}));
    });

    after(async () => {
      await prometheus?.stop();
    });

    it('evaluates every rule without error and fires nothing without data', async () => {
      type ApiRule = { name: string; type: string; health: string; lastError?: string; state?: string };
      const deadline = Date.now() + 30_000;
      let rules: ApiRule[] = [];
      for (;;) {
        const data = await prometheus.api<{ groups: { rules: ApiRule[] }[] }>('/api/v1/rules');
        rules = data.groups.flatMap((group) => group.rules);
        if (rules.length === expectedRules && rules.every((rule) => rule.health !== 'unknown')) break;
        if (Date.now() > deadline) break;
        await sleep(250);
      }
      assert.equal(rules.length, expectedRules, `Prometheus loaded ${rules.length} rules, the files hold ${expectedRules}`);
      assert.deepEqual(
        rules.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.health} ${rule.lastError ?? ''}`),
        [],
      );
      assert.deepEqual(
        rules.filter((rule) => rule.type === 'alerting' && rule.state !== 'inactive').map((rule) => `${rule.name}: ${rule.state}`),
        [],
      );
    });
  });
});
