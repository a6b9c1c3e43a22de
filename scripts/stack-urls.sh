#!/usr/bin/env bash
# Printed by `npm run up` once every container is healthy.
set -euo pipefail
compose_dir="$(dirname "$0")/../compose"
# The last value wins, as in Compose: compose/.env, then compose/.env.local (scripts/gen-env.sh).
setting() {
  local files=("$compose_dir/.env")
  if [ -f "$compose_dir/.env.local" ]; then files+=("$compose_dir/.env.local"); fi
  grep -h "^$1=" "${files[@]}" | tail -n 1 | cut -d= -f2-
}
grafana_password=$(setting GRAFANA_ADMIN_PASSWORD)
elastic_password=$(setting ELASTIC_PASSWORD)
cat <<URLS

The platform is up:
  Storefront  http://127.0.0.1:8080    (start here: every click is a traced gRPC-Web call)
  Grafana     http://localhost:3000    admin / ${grafana_password}  (home: Services overview)
  Jaeger      http://localhost:16686   (Monitor tab: service metrics)
  Kibana      http://localhost:5601    elastic / ${elastic_password}  (Discover: logs-*)
  Prometheus  http://localhost:9090    (Alerts: the SLO burn-rate rules)
  order gRPC  localhost:50052          user gRPC: localhost:50061, localhost:50062

Break something:  npm run fault -- set --target localhost:50072 'order.v1.OrderService/CreateOrder:latency=300ms..900ms,error=UNAVAILABLE@0.3'
Undo it:          npm run fault -- clear --target localhost:50072
Stop:             npm run down
URLS
