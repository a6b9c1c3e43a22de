import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './net';
import { procStat } from './proc';

/**
 * A PostgreSQL cluster of the test's own, on a port of its own, that the test
 * may stop and start (an outage) without touching the machine's shared server.
 * Made with the server's initdb and pg_ctl, run as the `postgres` user when
 * the test runs as root (PostgreSQL refuses to run as root).
 */
export interface PrivatePostgres {
  /** postgres:// URL of the cluster's `postgres` database. */
  readonly url: string;
  /** `pg_ctl stop -m fast`: connections are ended (57P01), as in a restart. */
  stop(): void;
  start(): void;
  /**
   * SIGSTOP to the server and its backends: connections stay open and new
   * ones are accepted by the kernel, but nothing answers, as with a hung host
   * or a partition that drops packets without a reset.
   */
  freeze(): void;
  /** SIGCONT: the server goes on with whatever it had been sent. */
  thaw(): void;
  /** Stops the cluster and deletes its files. */
  remove(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = serverBinaries();
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'private-postgres-'));
  chmodSync(dir, 0o777);
  const data = path.join(dir, 'data');
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const invoke = (tool: string, args: string[]) => {
    const [command, ...rest] = [...asOwner, path.join(bin, tool), ...args];
    return spawnSync(command!, rest, { encoding: 'utf8' });
  };
  const run = (tool: string, args: string[]) => {
    const result = invoke(tool, args);
    if (result.status !== 0)
      throw new Error(`${tool} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}${result.error?.message ?? ''}`);
  };
  run('initdb', ['--pgdata', data, '--username', 'postgres', '--auth', 'trust', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (action: string, ...args: string[]) => run('pg_ctl', [action, '--pgdata', data, '--wait', '--silent', ...args]);
  const start = () => ctl('start', '--options', options, '--log', path.join(dir, 'server.log'));
  const stop = () => ctl('stop', '--mode', 'fast');
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of clusterProcesses(data)) {
      try {
        process.kill(pid, signal);
      } catch {
        // Ended between the listing and the signal.
      }
    }
  };
  let frozen = false;
  const freeze = () => {
    frozen = true;
    signalAll('SIGSTOP');
  };
  const thaw = () => {
    frozen = false;
    signalAll('SIGCONT');
  };
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    // A stopped server would hold pg_ctl's stop until it gives up.
    if (frozen) thaw();
    invoke('pg_ctl', ['stop', '--pgdata', data, '--mode', 'immediate', '--wait']);
    rmSync(dir, { recursive: true, force: true });
  };
  // Should the test process die first, the cluster goes with it.
  process.once('exit', remove);
  start();
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop, start, freeze, thaw, remove };
}

/** The postmaster (first line of postmaster.pid) and its children, read from /proc. */
function clusterProcesses(data: string): number[] {
  const postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return Number(procStat(pid)[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

/** The folder of initdb and pg_ctl: PG_BIN, else Debian's newest /usr/lib/postgresql/<version>/bin. */
function serverBinaries(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((version) => existsSync(path.join(root, version, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error('a private PostgreSQL cluster needs the server binaries (initdb, pg_ctl): apt-get install postgresql, or set PG_BIN');
  return path.join(root, newest, 'bin');
}
