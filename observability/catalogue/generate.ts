/** npm run catalogue: writes observability/CATALOGUE.md from a run of the platform. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectInventory } from './collect';
import { CATALOGUE_FILE, renderCatalogue } from './render';

collectInventory().then(
  (inventory) => {
    writeFileSync(CATALOGUE_FILE, renderCatalogue(inventory));
    process.stdout.write(`wrote ${path.relative(process.cwd(), CATALOGUE_FILE)}\n`);
  },
  (error: unknown) => {
    process.stderr.write(`catalogue: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
