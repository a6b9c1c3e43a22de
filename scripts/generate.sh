#!/usr/bin/env bash
# Regenerates every TypeScript contract from proto/ with buf + ts-proto (buf.gen.yaml).
# Each workspace gets exactly the packages it serves or calls, under src/api.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=node_modules/.bin/buf
rpc=node_modules/google-proto-files/google/rpc

generate() {
  local out=$1; shift
  rm -rf "$out"
  local args=()
  for path in "$@"; do args+=(--path "$path"); done
  "$buf" generate "${args[@]}" -o "$out"
}

# service-kit serves fault.v1 on behalf of every service (when fault injection is enabled).
generate packages/service-kit/src/api "$rpc/status.proto" "$rpc/error_details.proto" proto/fault/v1
generate services/user/src/api proto/user/v1
# Order serves order.v1 and calls user.v1.
generate services/order/src/api proto/order/v1 proto/user/v1
