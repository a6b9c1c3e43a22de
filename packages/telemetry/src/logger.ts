import { pino, type LevelWithSilent, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** The service name, on every line. */
  name: string;
  level: LevelWithSilent;
}

/** JSON lines on stdout, the one format every log shipper reads. */
export function createLogger(options: LoggerOptions): Logger {
  return pino({ name: options.name, level: options.level });
}
