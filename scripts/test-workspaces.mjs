#!/usr/bin/env node
// Runs every workspace's tests in two lanes at once, each lane's workspaces
// one after another: the order service's suite (its fuzz test is the longest
// single run) in one lane, the rest (the benchmark smoke test included) in
// the other, so that the suite takes about half the time on two cores. Each lane's output
// is printed whole when it ends (concurrently --group); the exit code is
// non-zero if any workspace failed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const FIRST_LANE = ['services/order'];

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
// Workspace patterns are folders, or `folder/*` for each folder inside one.
const folders = readJson('package.json').workspaces.flatMap((pattern) =>
  pattern.endsWith('/*')
    ? readdirSync(pattern.slice(0, -2), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => path.posix.join(pattern.slice(0, -2), entry.name))
    : [pattern],
);
const tested = folders.filter((dir) => existsSync(`${dir}/package.json`) && readJson(`${dir}/package.json`).scripts?.test !== undefined);
const lanes = [tested.filter((dir) => FIRST_LANE.includes(dir)), tested.filter((dir) => !FIRST_LANE.includes(dir))];
const result = spawnSync(
  'node_modules/.bin/concurrently',
  ['--group', '--names', 'order,rest', '--success', 'all', ...lanes.map((lane) => `npm test ${lane.map((dir) => `-w ${dir}`).join(' ')}`)],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
