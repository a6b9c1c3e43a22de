/**
 * What a running service holds, closed in one ordered pass. Whoever opens a
 * resource registers its close right there; close() closes them newest
 * first: the gRPC server (drained) before the repositories and clients its
 * handlers use, those before the pool, everything before telemetry, which
 * reports the rest. Each is closed once; one that fails does not keep the
 * others open.
 */
export class Closer {
  readonly #entries: { name: string; close: () => unknown }[] = [];
  #closed: Promise<void> | undefined;

  /** Registers how to close `resource`, and returns it: `const pool = closer.add('PostgreSQL pool', open(), (p) => p.end())`. */
  add<Resource>(name: string, resource: Resource, close: (resource: Resource) => unknown): Resource {
    if (this.#closed) throw new Error(`${name} opened while closing`);
    this.#entries.push({ name, close: () => close(resource) });
    return resource;
  }

  /** Closes everything registered, newest first; rejects, naming each, if any failed. Safe to call again. */
  close(): Promise<void> {
    this.#closed ??= this.#closeAll();
    return this.#closed;
  }

  async #closeAll(): Promise<void> {
    const failures: Error[] = [];
    for (const { name, close } of this.#entries.reverse()) {
      try {
        await close();
      } catch (error) {
        failures.push(new Error(`closing ${name} failed: ${String(error)}`, { cause: error }));
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, failures.map((failure) => failure.message).join('; '));
  }
}
