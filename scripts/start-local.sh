#!/usr/bin/env bash
# Runs both services on this machine for development (npm start). With
# POSTGRES_URL set to a server (postgres://postgres@127.0.0.1:5432) each service
# gets its own database on it; without it both keep their data in memory.
set -euo pipefail
cd "$(dirname "$0")/.."
user_db="" order_db=""
if [ -n "${POSTGRES_URL:-}" ]; then
  user_db="${POSTGRES_URL%/}/users"
  order_db="${POSTGRES_URL%/}/orders"
fi
# This is the demo setting, so fault injection is on (npm run fault, through the fault admin
# listeners on 127.0.0.1:50071 and :50072); FAULT_INJECTION_ENABLED=false turns it off.
export FAULT_INJECTION_ENABLED="${FAULT_INJECTION_ENABLED:-true}"
exec node_modules/.bin/concurrently --kill-others --names user,order --prefix-colors blue,green \
  "DATABASE_URL=$user_db node --require @platform/telemetry/register services/user/dist/src/main.js" \
  "DATABASE_URL=$order_db node --require @platform/telemetry/register services/order/dist/src/main.js"
