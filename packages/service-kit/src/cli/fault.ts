/**
 * `npm run fault -- set|list|clear`: sets, lists and clears the faults of
 * running services through fault.v1.FaultService, so that one command makes a
 * method slow or failing and dashboards and alerts can be watched reacting.
 */
import { parseArgs } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import { FaultServiceClient, type Fault as ProtoFault } from '@platform/contracts/fault/v1/fault';
import { unary } from '../client/unary';
import { tlsFromEnv } from '../config';
import { Code, readFieldViolations } from '../errors';
import { fromProtoFault, toProtoFault } from '../fault-injection/admin-service';
import { faultSchema, faultSpec, formatFault, type Fault } from '../fault-injection/injector';
import { channelCredentials } from '../tls';
import { runCommand, UsageError } from '../usage-error';

/** The fault admin listeners of the services `npm start` runs (user, then order): their gRPC ports + 20. */
const DEFAULT_TARGETS = ['localhost:50071', 'localhost:50072'];
const CALL_TIMEOUT_MS = 5000;

const USAGE = `Sets, lists and clears injected faults on running services.

usage:
  npm run fault -- set   [--target host:port]... SPEC
  npm run fault -- list  [--target host:port]...
  npm run fault -- clear [--target host:port]... [METHOD]

A target is a service's fault admin listener (FAULT_ADMIN_PORT: by default
its gRPC port + 20), not its gRPC port. Without --target:
${DEFAULT_TARGETS.join(' and ')} (the services of npm start).
A fault is set on every target that serves its method; * goes to all of them.
clear without METHOD removes every fault.

SPEC is one or more faults separated by ";":
  METHOD:EFFECT[,EFFECT]
  METHOD  order.v1.OrderService/CreateOrder, or * for every method
  EFFECT  latency=200ms | latency=200ms..800ms | latency=1.5s
          error=UNAVAILABLE | error=UNAVAILABLE@0.2 (the share of calls that fail)

examples:
  npm run fault -- set --target localhost:50072 'order.v1.OrderService/CreateOrder:latency=200ms..800ms,error=UNAVAILABLE@0.2'
  npm run fault -- set 'user.v1.UserService/GetUser:latency=1s;*:latency=50ms'
  npm run fault -- list
  npm run fault -- clear --target localhost:50072 order.v1.OrderService/CreateOrder

The services must run with FAULT_INJECTION_ENABLED=true. Against services
that require mTLS, set TLS_CA_FILE, TLS_CERT_FILE and TLS_KEY_FILE to a
certificate their CA signed (scripts/gen-certs.sh makes them).`;

/** A message for the user, printed without a stack. */
type Target = { address: string; client: FaultServiceClient };

async function main(argv: string[]): Promise<boolean> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { target: { type: 'string', short: 't', multiple: true }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help === true;
  }
  if (command !== 'set' && command !== 'list' && command !== 'clear') {
    throw new UsageError(`unknown command "${command}"; expected set, list or clear (see --help)`);
  }
  // Checked before connecting, so that a bad spec is reported once rather than by every target.
  const faults = command === 'set' ? parseSpec(rest) : [];
  if (command !== 'set' && rest.length > (command === 'clear' ? 1 : 0))
    throw new UsageError(`too many arguments for ${command} (see --help)`);
  const channel = channelCredentials({ tls: tlsFromEnv() });
  const targets = (values.target ?? DEFAULT_TARGETS).map((address) => ({ address, client: new FaultServiceClient(address, channel) }));
  try {
    if (command === 'set') return await set(targets, faults);
    if (command === 'list') return await list(targets);
    return await clear(targets, rest[0] ?? '');
  } finally {
    targets.forEach((target) => target.client.close());
  }
}

function parseSpec(args: string[]): Fault[] {
  if (args.length !== 1)
    throw new UsageError("set takes one SPEC (quote it), e.g. set 'order.v1.OrderService/GetOrder:error=UNAVAILABLE@0.5'");
  const parsed = faultSpec.safeParse(args[0]);
  if (!parsed.success) throw new UsageError(`invalid SPEC:\n${parsed.error.issues.map((issue) => `  ${issue.message}`).join('\n')}`);
  if (parsed.data.length === 0) throw new UsageError('SPEC names no fault');
  return parsed.data;
}

function options() {
  return { deadline: Date.now() + CALL_TIMEOUT_MS };
}

async function set(targets: Target[], faults: Fault[]): Promise<boolean> {
  let ok = true;
  for (const fault of faults) {
    let applied = 0;
    const notServed: string[] = [];
    for (const { address, client } of targets) {
      try {
        const answer = await unary(client, client.setFault)({ fault: toProtoFault(fault) }, options());
        print(address, `set ${describe(answer)}`);
        applied += 1;
      } catch (error) {
        const violations = readFieldViolations((error as ServiceError).metadata);
        // The spec was checked here already: a rejected method is one this target does not serve.
        if (violations.length === 1 && violations[0]?.field === 'fault.method') notServed.push(`${address}: ${violations[0].description}`);
        else ok = report(address, error);
      }
    }
    if (applied === 0 && notServed.length > 0) {
      process.stderr.write(`no target serves ${fault.method}:\n${notServed.map((line) => `  ${line}`).join('\n')}\n`);
      ok = false;
    }
  }
  return ok;
}

async function list(targets: Target[]): Promise<boolean> {
  let ok = true;
  for (const { address, client } of targets) {
    try {
      const { faults } = await unary(client, client.listFaults)({}, options());
      print(address, faults.length === 0 ? 'no faults' : faults.map(describe).join('\n  '));
    } catch (error) {
      ok = report(address, error);
    }
  }
  return ok;
}

async function clear(targets: Target[], method: string): Promise<boolean> {
  let ok = true;
  for (const { address, client } of targets) {
    try {
      const { cleared } = await unary(client, client.clearFaults)({ method }, options());
      print(address, `cleared ${cleared} fault${cleared === 1 ? '' : 's'}${method ? ` on ${method}` : ''}`);
    } catch (error) {
      ok = report(address, error);
    }
  }
  return ok;
}

/** A fault the server sent back, in spec form (the server has checked it already). */
function describe(fault: ProtoFault): string {
  return formatFault(faultSchema().parse(fromProtoFault(fault)));
}

function print(address: string, message: string): void {
  process.stdout.write(`${address}: ${message}\n`);
}

/** Explains a failed call on stderr; returns false, for `ok = report(...)`. */
function report(address: string, error: unknown): false {
  const { code, details, metadata } = error as ServiceError;
  let message: string;
  if (code === Code.UNIMPLEMENTED)
    message =
      'no FaultService here; is this the gRPC port? Target the fault admin listener (FAULT_ADMIN_PORT, by default the gRPC port + 20)';
  else if (code === Code.UNAVAILABLE && /ECONNREFUSED/.test(details))
    message = 'nothing listens there; is fault injection on (FAULT_INJECTION_ENABLED=true), and is this its admin listener?';
  else if (code === Code.UNAVAILABLE) message = `not reachable: ${details.replace(/\s*Resolution note:\s*$/, '')}`;
  else if (code === Code.INVALID_ARGUMENT) {
    message = `rejected:\n${readFieldViolations(metadata)
      .map((violation) => `  ${violation.field}: ${violation.description}`)
      .join('\n')}`;
  } else message = `${Code[code] ?? code}: ${details ?? String(error)}`;
  process.stderr.write(`${address}: ${message}\n`);
  return false;
}

runCommand(async () => ((await main(process.argv.slice(2))) ? 0 : 1));
