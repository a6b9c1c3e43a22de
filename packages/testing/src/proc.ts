import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name, which is in
 * parentheses and may itself contain spaces and parentheses: [0] is the
 * state, [1] the parent pid, [11] and [12] user and system CPU in clock ticks.
 * Throws when the process (or /proc) does not exist.
 */
export function procStat(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
