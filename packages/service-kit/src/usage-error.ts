/**
 * An error for the user, not a bug: a wrong argument, flag or setting (a
 * ConfigError is one). What catches it prints its message as it is, without
 * a stack trace; anything else is a bug and is printed with one.
 */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** Whether `error` is the user's to fix: a UsageError, or node:util parseArgs' own complaint about the arguments. */
export function isUsageError(error: unknown): error is Error {
  return error instanceof UsageError || String((error as { code?: unknown } | undefined)?.code).startsWith('ERR_PARSE_ARGS');
}

export interface CommandOptions {
  /** Before each message: `traffic: ...`. */
  name?: string;
  /** Printed after a usage error's message. */
  usage?: string;
  /** The exit code of a usage error; 1 by default. */
  usageExitCode?: number;
}

/**
 * Runs a command-line program's main and exits with the code it resolves
 * to; a usage error prints its message (and the usage) and exits with
 * usageExitCode, any other error prints its stack and exits 1.
 */
export function runCommand(main: () => Promise<number>, options: CommandOptions = {}): void {
  const prefix = options.name ? `${options.name}: ` : '';
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (isUsageError(error)) {
        process.stderr.write(`${prefix}${error.message}\n${options.usage ? `\n${options.usage}\n` : ''}`);
        process.exit(options.usageExitCode ?? 1);
      }
      process.stderr.write(`${prefix}failed: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
