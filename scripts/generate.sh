#!/usr/bin/env bash
# Regenerates the TypeScript contracts of every proto/ package with buf + ts-proto
# (buf.gen.yaml) into packages/contracts/gen, one module per .proto file at the
# same path: proto/user/v1/user.proto is imported as @platform/contracts/user/v1/user.
set -euo pipefail
cd "$(dirname "$0")/.."
out=packages/contracts/gen
rpc=node_modules/google-proto-files/google/rpc
# google.rpc.Status and its details: the error model every service sends.
paths=(--path "$rpc/status.proto" --path "$rpc/error_details.proto")
for package in proto/*/; do paths+=(--path "${package%/}"); done
rm -rf "$out"
node_modules/.bin/buf generate "${paths[@]}" -o "$out"
