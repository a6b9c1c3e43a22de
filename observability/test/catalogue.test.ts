import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { collectInventory } from '../catalogue/collect';
import { CATALOGUE_FILE, LABEL_VALUES, renderCatalogue } from '../catalogue/render';

describe('the telemetry catalogue (observability/CATALOGUE.md)', () => {
  it('is what a run of the platform generates (run npm run catalogue), and describes every label', async () => {
    const inventory = await collectInventory();
    assert.ok(
      inventory.metrics.some((family) => family.name === 'grpc_server_handled_total'),
      'the services were scraped',
    );
    assert.ok(
      inventory.spans.some((entry) => entry.kind === 'SERVER'),
      'the spans arrived',
    );
    assert.ok(inventory.logFields.includes('trace.id'), 'the log lines were read');
    const undescribed = [...new Set(inventory.metrics.flatMap((family) => family.labels))].filter((label) => !(label in LABEL_VALUES));
    assert.deepEqual(undescribed, [], 'labels without a description of their values in observability/catalogue/render.ts');
    assert.equal(
      readFileSync(CATALOGUE_FILE, 'utf8'),
      renderCatalogue(inventory),
      'observability/CATALOGUE.md is stale: run npm run catalogue',
    );
  });
});
