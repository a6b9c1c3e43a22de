import { ecsFormat } from '@elastic/ecs-pino-format';
import { multistream, pino, type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { StdoutLines } from './stdout';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** service.name, on every line. */
  name: string;
  version?: string;
  environment?: string;
  level: LevelWithSilent;
  /** Where lines go; stdout (bounded: StdoutLines) unless given (tests capture them). */
  destination?: DestinationStream;
  /** Also write every line here (the Elasticsearch shipper). */
  alsoTo?: DestinationStream;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const REDACTED_EMAIL = '[email redacted]';

/** Replaces email addresses in log text; they are personal data and have no place in logs. */
export function redactEmails(text: string): string {
  return text.replace(EMAIL, REDACTED_EMAIL);
}

/**
 * The value with every address in its strings redacted and every field named
 * `email` censored whatever it holds, at any depth; the value itself when
 * there is nothing to redact (no copy for the usual line). Logged fields
 * carry request data under any name, not only `email`. One walk does both:
 * pino's `redact` paths cost an access line about 3 µs (bench/).
 */
function redactEmailsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('@') ? redactEmails(value) : value;
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) {
    const items = value.map((item) => redactEmailsDeep(item, depth + 1));
    return items.some((item, index) => item !== value[index]) ? items : value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, field] of Object.entries(value)) {
    const redacted = key === 'email' && field !== undefined ? REDACTED_EMAIL : redactEmailsDeep(field, depth + 1);
    if (redacted !== field) (copy ??= { ...(value as Record<string, unknown>) })[key] = redacted;
  }
  return copy ?? value;
}

/**
 * ECS JSON lines (what Kibana understands) on stdout, and on `alsoTo`. The
 * trace.id and span.id of the active span are added by the OpenTelemetry
 * pino instrumentation. Email addresses are redacted from every field
 * (errors included) and from messages, and fields named `email` censored.
 */
export function createLogger(options: LoggerOptions): Logger {
  const ecs = ecsFormat({
    serviceName: options.name,
    ...(options.version && { serviceVersion: options.version }),
    ...(options.environment && { serviceEnvironment: options.environment }),
    // An ECS dataset may not contain '-'.
    eventDataset: datasetOf(options.name),
    convertErr: true,
  });
  const formatLog = ecs.formatters?.log;
  const primary = options.destination ?? new StdoutLines();
  const destination = options.alsoTo
    ? multistream([
        { stream: primary, level: 'trace' },
        { stream: options.alsoTo, level: 'trace' },
      ])
    : primary;
  return pino(
    {
      ...ecs,
      level: options.level,
      formatters: {
        ...ecs.formatters,
        log(object) {
          return redactEmailsDeep(formatLog ? formatLog(object) : object) as Record<string, unknown>;
        },
      },
      hooks: {
        logMethod(args, method) {
          // An address needs an '@': most lines (every access line) skip the copy and the pattern.
          const mayHoldEmail = args.some((arg) => typeof arg === 'string' && arg.includes('@'));
          if (!mayHoldEmail) return method.apply(this, args);
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactEmails(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

/** user-service -> user_service: the dataset of event.dataset and of the data stream's name. */
export function datasetOf(serviceName: string): string {
  return serviceName.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
}
