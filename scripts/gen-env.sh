#!/usr/bin/env bash
# Random passwords and keys for the Compose stack, in place of the documented
# defaults of compose/.env (every value there that starts with "change-me"):
#
#   scripts/gen-env.sh            writes compose/.env.local
#   scripts/gen-env.sh FILE       writes FILE
#
# An existing file is never overwritten (PostgreSQL and Elasticsearch keep the
# passwords they were first started with in their volumes). Compose reads it
# after compose/.env, its values winning: `npm run up` and `npm run down` pass
# both (scripts/compose.sh), or by hand:
#   docker compose --env-file compose/.env --env-file compose/.env.local -f compose/docker-compose.yml up -d --build --wait
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
defaults="$root/compose/.env"
target="${1:-$root/compose/.env.local}"

if [ -e "$target" ]; then
  echo "gen-env: $target exists; kept as it is (delete it to make new values)" >&2
  exit 0
fi

# 32 characters of [A-Za-z0-9]: about 190 bits, and nothing a shell, a URL or YAML must escape.
random_value() {
  local value=''
  while [ ${#value} -lt 32 ]; do
    value+=$(head -c 64 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9')
  done
  printf '%s' "${value:0:32}"
}

umask 077
{
  echo "# Made by scripts/gen-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ); read after compose/.env, whose values these replace."
  grep -E '^[A-Z_]+=change-me' "$defaults" | cut -d= -f1 | while read -r name; do
    echo "$name=$(random_value)"
  done
} >"$target.tmp"
mv "$target.tmp" "$target"
echo "gen-env: wrote $(grep -c '=' "$target") values to $target" >&2
