/**
 * Every RPC of the platform, with what counts it, where it shows and what
 * alerts on it: one list, rendered into observability/CATALOGUE.md and into
 * each service's reader's map (services/<name>/README.md).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { grpcTypeOf, type GrpcType } from '@platform/telemetry';
import { protoMetadata as orderProto } from '@platform/contracts/order/v1/order';
import { protoMetadata as userProto } from '@platform/contracts/user/v1/user';

const RULES_DIR = path.resolve(__dirname, '../../prometheus/rules');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

export function rules(file: string): Rule[] {
  const document = parse(readFileSync(path.join(RULES_DIR, file), 'utf8')) as { groups: { rules: Rule[] }[] };
  return document.groups.flatMap((group) => group.rules);
}

/** A metric family's samples as queries name them: the family, or its _bucket, _sum, _count. */
export function reads(expr: string, family: { name: string; type: string }): boolean {
  const samples = family.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => `${family.name}${suffix}`) : [family.name];
  return samples.some((name) => new RegExp(`\\b${name}\\b`).test(expr));
}

/** Every alert with the expressions of the recorded series it reads, so that what it reads through them shows. */
export function expandedAlerts(): { name: string; expr: string }[] {
  const recorded = rules('recording.yml').filter((rule) => rule.record);
  return rules('alerts.yml')
    .filter((rule) => rule.alert)
    .map((alert) => ({
      name: alert.alert!,
      expr: recorded.reduce((text, rule) => (text.includes(rule.record!) ? `${text}\n${rule.expr}` : text), alert.expr),
    }));
}

/** The services, as the catalogue and the maps describe them. */
export const SERVICES = [
  { job: 'user-service', directory: 'user', proto: userProto },
  { job: 'order-service', directory: 'order', proto: orderProto },
] as const;

export interface Rpc {
  /** `order.v1.OrderService/CreateOrder` */
  fullName: string;
  /** `CreateOrder` */
  name: string;
  /** `createOrder`: the handler's name. */
  handlerName: string;
  kind: GrpcType;
  job: string;
  directory: string;
  series: string;
  panels: string[];
  alerts: string[];
}

export function rpcs(): Rpc[] {
  const sloAlerts = expandedAlerts()
    .filter(
      (alert) =>
        reads(alert.expr, { name: 'grpc_server_handled_total', type: 'counter' }) ||
        reads(alert.expr, { name: 'grpc_server_handling_seconds', type: 'histogram' }),
    )
    .map((alert) => alert.name);
  return SERVICES.flatMap(({ job, directory, proto }) =>
    proto.fileDescriptor.service.flatMap((service) =>
      service.method.map((method): Rpc => {
        const kind = grpcTypeOf({ requestStream: method.clientStreaming === true, responseStream: method.serverStreaming === true });
        return {
          fullName: `${proto.fileDescriptor.package}.${service.name}/${method.name}`,
          name: method.name!,
          handlerName: `${method.name![0]!.toLowerCase()}${method.name!.slice(1)}`,
          kind,
          job,
          directory,
          series: `grpc_server_handled_total{job="${job}",grpc_method="${method.name}"}`,
          panels:
            kind === 'unary'
              ? ['services-overview (every panel; Method selects it)']
              : ['services-overview (rate, errors, stream messages; latency panels are unary only)'],
          alerts: kind === 'unary' ? sloAlerts : sloAlerts.filter((name) => !/Latency/.test(name)),
        };
      }),
    ),
  );
}
