#!/usr/bin/env bash
# Fails when proto/ breaks wire or source compatibility with the contracts on
# the main branch (buf's FILE rules). Run before merging a contract change.
set -euo pipefail
cd "$(dirname "$0")/.."
against_ref=${BUF_AGAINST_REF:-main}
if ! git rev-parse --verify --quiet "$against_ref" >/dev/null; then
  echo "buf breaking: no '$against_ref' to compare with; set BUF_AGAINST_REF" >&2
  exit 1
fi
# The google.rpc module lives in node_modules, which git does not hold: compare
# against a checkout of the ref with this tree's node_modules beside it.
baseline=$(mktemp -d)
trap 'git worktree remove --force "$baseline" >/dev/null 2>&1 || rm -rf "$baseline"' EXIT
git worktree add --detach "$baseline" "$against_ref" >/dev/null 2>&1
ln -s "$PWD/node_modules" "$baseline/node_modules"
node_modules/.bin/buf breaking proto --against "$baseline/proto"
echo "buf breaking: proto/ is compatible with $against_ref"
