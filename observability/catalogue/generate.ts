/** npm run catalogue: writes observability/CATALOGUE.md from a run of the platform, and each service's reader's map. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { collectInventory } from './collect';
import { CATALOGUE_FILE, renderCatalogue } from './render';
import { SERVICES } from './rpcs';
import { renderServiceMap, serviceMapFile } from './service-maps';

collectInventory().then(
  (inventory) => {
    writeFileSync(CATALOGUE_FILE, renderCatalogue(inventory));
    process.stdout.write(`wrote ${path.relative(process.cwd(), CATALOGUE_FILE)}\n`);
    for (const { directory } of SERVICES) {
      writeFileSync(serviceMapFile(directory), renderServiceMap(directory));
      process.stdout.write(`wrote ${path.relative(process.cwd(), serviceMapFile(directory))}\n`);
    }
  },
  (error: unknown) => {
    process.stderr.write(`catalogue: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
