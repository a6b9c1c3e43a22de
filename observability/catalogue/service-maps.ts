/**
 * Each service's reader's map (services/<name>/README.md): one row per RPC
 * with where it is declared, handled and stored, what else it calls, what
 * counts it, where it shows, what alerts on it and which test files name
 * it, each a link. Read off the sources, so it cannot drift: a test
 * regenerates it and fails when a map is stale.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rpcs, SERVICES, type Rpc } from './rpcs';

const ROOT = path.resolve(__dirname, '../../..');

/** What each service's handlers call: its repository, and the other services (through their client in the kit). */
const DEPENDENCIES: Record<string, { repository: { variable: string; file: string }; services: Record<string, string> }> = {
  user: { repository: { variable: 'users', file: 'src/repository/user-repository.ts' }, services: {} },
  order: {
    repository: { variable: 'orders', file: 'src/repository/order-repository.ts' },
    // GrpcUserDirectory.assertUserExists is a GetUser call to User.
    services: { 'users.assertUserExists': 'user.v1.UserService/GetUser' },
  },
};

/** Where the tests of a service's RPCs may be: its own, and the platform's that start it. */
const TEST_DIRECTORIES = [
  'services/user/test',
  'services/order/test',
  'observability/test',
  'scripts/traffic/test',
  'deploy/kubernetes/test',
];

export function serviceMapFile(directory: string): string {
  return path.join(ROOT, 'services', directory, 'README.md');
}

const lineOf = (lines: string[], pattern: RegExp) => lines.findIndex((line) => pattern.test(line)) + 1;
const link = (fromDirectory: string, file: string, line: number | undefined, text: string) =>
  `[${text}](${path.relative(fromDirectory, path.join(ROOT, file))}${line === undefined ? '' : `#L${line}`})`;

export function renderServiceMap(directory: (typeof SERVICES)[number]['directory']): string {
  const service = SERVICES.find((candidate) => candidate.directory === directory)!;
  const here = path.join(ROOT, 'services', directory);
  const methods = rpcs().filter((rpc) => rpc.directory === directory);
  const protoFile = `proto/${service.proto.fileDescriptor.name}`;
  const protoLines = readFileSync(path.join(ROOT, protoFile), 'utf8').split('\n');
  const handlersFile = `services/${directory}/src/internal/handlers.ts`;
  const handlerLines = readFileSync(path.join(ROOT, handlersFile), 'utf8').split('\n');
  const metricsFile = `services/${directory}/src/internal/metrics.ts`;
  const metricsLines = readFileSync(path.join(ROOT, metricsFile), 'utf8').split('\n');
  const { repository, services } = DEPENDENCIES[directory]!;
  const repositoryFile = `services/${directory}/${repository.file}`;
  const repositoryLines = readFileSync(path.join(ROOT, repositoryFile), 'utf8').split('\n');
  const tests = testSources();

  // A handler's body: from its definition to the next handler's.
  const starts = methods
    .map((rpc) => ({ rpc, line: lineOf(handlerLines, new RegExp(`^\\s*(const\\s+)?(async\\s+)?\\*?\\s*${rpc.handlerName}\\b\\s*[(=]`)) }))
    .sort((a, b) => a.line - b.line);
  const bodyOf = (rpc: Rpc): string => {
    const index = starts.findIndex((start) => start.rpc === rpc);
    const end = starts[index + 1]?.line ?? handlerLines.length + 1;
    return handlerLines.slice(starts[index]!.line - 1, end - 1).join('\n');
  };
  // Calls of another handler (BulkCreateOrders creates each order as CreateOrder does) count as its calls.
  const callsOf = (rpc: Rpc, pattern: RegExp, seen = new Set<Rpc>()): string[] => {
    seen.add(rpc);
    const body = bodyOf(rpc);
    const own = [...body.matchAll(pattern)].map((match) => match[1]!);
    const viaHandlers = methods.filter((other) => !seen.has(other) && new RegExp(`\\b${other.handlerName}\\(`).test(body));
    return [...new Set([...own, ...viaHandlers.flatMap((other) => callsOf(other, pattern, seen))])];
  };

  const rows = methods.map((rpc) => {
    const start = starts.find((candidate) => candidate.rpc === rpc)!.line;
    if (start === 0) throw new Error(`no handler ${rpc.handlerName} in ${handlersFile}`);
    const storage = callsOf(rpc, new RegExp(`\\b${repository.variable}\\.(\\w+)\\(`, 'g')).map((method) =>
      link(here, repositoryFile, lineOf(repositoryLines, new RegExp(`^\\s+${method}\\(`)), `${repository.variable}.${method}`),
    );
    const calls = Object.entries(services)
      .filter(([call]) => callsOf(rpc, /\b(\w+\.\w+)\(/g).includes(call))
      .map(([, target]) => `\`${target}\``);
    const metrics = callsOf(rpc, /\bmetrics\.(\w+)\(/g).map((method) =>
      link(here, metricsFile, lineOf(metricsLines, new RegExp(`^\\s+${method}\\(`)), `metrics.${method}`),
    );
    const testLinks = tests
      .filter((test) => new RegExp(`\\.${rpc.handlerName}\\b|['/]${rpc.name}\\b`).test(test.source))
      .map((test) => link(here, test.file, undefined, path.basename(test.file)));
    const cells = [
      `\`${rpc.fullName}\` (${rpc.kind})`,
      link(here, protoFile, lineOf(protoLines, new RegExp(`^\\s*rpc ${rpc.name}\\(`)), `${path.basename(protoFile)}`),
      link(here, handlersFile, start, rpc.handlerName),
      storage.join('<br>') || '–',
      calls.join('<br>') || '–',
      [`\`${rpc.series}\``, ...metrics].join('<br>'),
      rpc.panels.join('<br>'),
      rpc.alerts.join('<br>'),
      testLinks.join('<br>') || '–',
    ];
    return `| ${cells.join(' | ')} |`;
  });

  return [
    `# ${service.job}: a reader's map`,
    '',
    '<!-- GENERATED by npm run catalogue (observability/catalogue/service-maps.ts): edit the code, not this file. -->',
    '',
    `One row per RPC of \`${service.proto.fileDescriptor.package}\`: where it is declared, handled and stored, what else it`,
    'calls, what counts it, where it shows, what alerts on it, and the test files that name it. Links go to the line.',
    'The rest of what the service emits is in [the telemetry catalogue](../../observability/CATALOGUE.md); how the',
    "service is put together is its composition root, [src/internal/server.ts](src/internal/server.ts), and the kit's",
    'parts are described in the [README](../../README.md).',
    '',
    '| RPC | Proto | Handler | Storage | Calls | Metrics | Panels | Alerts | Tests |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function testSources(): { file: string; source: string }[] {
  return TEST_DIRECTORIES.flatMap((directory) =>
    readdirSync(path.join(ROOT, directory))
      .filter((file) => file.endsWith('.test.ts'))
      .sort()
      .map((file) => ({ file: `${directory}/${file}`, source: readFileSync(path.join(ROOT, directory, file), 'utf8') })),
  );
}
