import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DASHBOARDS, DATASOURCES } from '../src';
import { GENERATED_DIR, RECORDING_RULES_FILE, renderDashboard } from '../src/generate';
import { recordingRulesYaml } from '../src/slo';

const CURRENT_PANEL_TYPES = new Set(['timeseries', 'stat', 'heatmap', 'table', 'text', 'row']);
const KNOWN_UIDS = new Set<string>(Object.values(DATASOURCES).map((datasource) => datasource.uid));

interface GridPanel {
  type: string;
  title: string;
  description?: string;
  datasource?: { uid: string };
  targets?: { datasource?: { uid: string }; expr: string }[];
  fieldConfig?: { defaults: { unit?: string } };
  gridPos: { x: number; y: number; w: number; h: number };
}

describe('dashboards as code', () => {
  for (const definition of DASHBOARDS) {
    const { uid } = definition.spec;

    it(`${uid}: the committed JSON is what the code generates (run npm run dashboards)`, () => {
      const committed = readFileSync(path.join(GENERATED_DIR, `${uid}.json`), 'utf8');
      assert.equal(committed, renderDashboard(definition), `dashboards/generated/${uid}.json is stale: run npm run dashboards`);
    });

    it(`${uid}: every $variable a query or a variable uses is defined on the dashboard (or is Grafana's own)`, () => {
      const json = definition.toGrafanaJson() as { panels: GridPanel[]; templating: { list: { name: string; definition: string }[] } };
      const defined = new Set(json.templating.list.map((variable) => variable.name));
      const texts = [
        ...json.templating.list.map((variable) => variable.definition),
        ...json.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ];
      const used = new Set(
        texts.flatMap((text) => [...text.matchAll(/\$\{?(\w+)/g)].map((match) => match[1]!)).filter((name) => !name.startsWith('__')),
      );
      assert.deepEqual(
        [...used].filter((name) => !defined.has(name)),
        [],
        'used but not defined',
      );
    });

    it(`${uid}: every panel is a current type, described, with a unit and a provisioned datasource`, () => {
      const json = definition.toGrafanaJson() as {
        panels: GridPanel[];
        templating: { list: { datasource: { uid: string } }[] };
        schemaVersion: number;
      };
      assert.ok(json.schemaVersion >= 39);
      for (const panel of json.panels) {
        assert.ok(CURRENT_PANEL_TYPES.has(panel.type), `${panel.title}: ${panel.type} is not a current panel type`);
        if (panel.type === 'row') continue;
        assert.ok(panel.description && /[.;]$/.test(panel.description.trim()), `${panel.title}: needs a one-sentence description`);
        if (panel.type === 'text') continue;
        assert.ok(panel.fieldConfig?.defaults.unit, `${panel.title}: needs a unit`);
        assert.ok(KNOWN_UIDS.has(panel.datasource!.uid), `${panel.title}: datasource ${panel.datasource?.uid}`);
        assert.ok(
          panel.targets!.length > 0 && panel.targets!.every((target) => KNOWN_UIDS.has(target.datasource!.uid) && target.expr.length > 0),
          panel.title,
        );
      }
      for (const variable of json.templating.list) assert.ok(KNOWN_UIDS.has(variable.datasource.uid));
    });

    it(`${uid}: panels do not overlap and fit the 24-column grid`, () => {
      const panels = (definition.toGrafanaJson() as { panels: GridPanel[] }).panels;
      const cells = new Set<string>();
      for (const { title, gridPos } of panels) {
        assert.ok(gridPos.x >= 0 && gridPos.x + gridPos.w <= 24, `${title} leaves the grid`);
        for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
          for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${title} overlaps another panel at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
        }
      }
    });
  }

  it('the committed recording rules are what the code generates (run npm run dashboards)', () => {
    assert.equal(
      readFileSync(RECORDING_RULES_FILE, 'utf8'),
      recordingRulesYaml(),
      'observability/prometheus/rules/recording.yml is stale: run npm run dashboards',
    );
  });

  it('every recorded series is read by an alert or a dashboard panel', () => {
    const recorded = [...recordingRulesYaml().matchAll(/^\s+- record: (\S+)$/gm)].map((match) => match[1]!);
    assert.ok(recorded.length > 0);
    const alerts = readFileSync(path.resolve(RECORDING_RULES_FILE, '../alerts.yml'), 'utf8');
    const queries = DASHBOARDS.flatMap((definition) => definition.panels.flatMap((panel) => panel.queries.map((query) => query.expr))).join(
      '\n',
    );
    const unread = recorded.filter((name) => !alerts.includes(name) && !queries.includes(name));
    assert.deepEqual(unread, [], 'recorded and never read: drop the rule, or use it');
  });

  it('have unique UIDs, and the services overview offers service, method and instance', () => {
    const uids = DASHBOARDS.map((definition) => definition.spec.uid);
    assert.equal(new Set(uids).size, uids.length);
    const overview = DASHBOARDS.find((definition) => definition.spec.uid === 'services-overview')!;
    assert.deepEqual(overview.spec.variables, ['job', 'method', 'instance']);
    const exemplarPanels = overview.panels.filter((panel) => panel.queries.some((query) => query.exemplar));
    assert.ok(exemplarPanels.length >= 2, 'latency panels show exemplars');
  });
});
