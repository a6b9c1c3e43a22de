#!/usr/bin/env bash
# docker compose for this stack: compose/.env, then compose/.env.local
# (scripts/gen-env.sh) when it exists, whose values win.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../compose" && pwd)"
env_files=(--env-file "$dir/.env")
if [ -f "$dir/.env.local" ]; then env_files+=(--env-file "$dir/.env.local"); fi
exec docker compose "${env_files[@]}" -f "$dir/docker-compose.yml" "$@"
