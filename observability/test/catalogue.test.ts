import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { collectInventory } from '../catalogue/collect';
import { CATALOGUE_FILE, LABEL_VALUES, renderCatalogue } from '../catalogue/render';
import { SERVICES } from '../catalogue/rpcs';
import { renderServiceMap, serviceMapFile } from '../catalogue/service-maps';

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

describe("each service's reader's map (services/<name>/README.md)", () => {
  for (const { directory } of SERVICES) {
    it(`is current for ${directory} (run npm run catalogue)`, () => {
      assert.equal(
        readFileSync(serviceMapFile(directory), 'utf8'),
        renderServiceMap(directory),
        `services/${directory}/README.md is stale`,
      );
    });
  }

  it('finds, for CreateOrder, its proto line, handler, storage, its call to User, its metrics and the tests that name it', () => {
    const row = renderServiceMap('order')
      .split('\n')
      .find((line) => line.startsWith('| `order.v1.OrderService/CreateOrder`'));
    assert.ok(row, 'no row for CreateOrder');
    for (const expected of [
      /\[order\.proto\]\(\.\.\/\.\.\/proto\/order\/v1\/order\.proto#L\d+\)/,
      /\[createOrder\]\(src\/internal\/handlers\.ts#L\d+\)/,
      /\[orders\.create\]\(src\/repository\/order-repository\.ts#L\d+\)/,
      /`user\.v1\.UserService\/GetUser`/,
      /\[metrics\.orderCreated\]/,
      /\[order-service\.test\.ts\]\(test\/order-service\.test\.ts\)/,
    ])
      assert.match(row, expected);
  });
});
