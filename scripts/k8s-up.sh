#!/usr/bin/env bash
# The demo overlay on a local kind cluster: builds the platform image, loads
# it into the cluster (created when missing), applies the overlay and waits
# for every rollout. Needs docker, kind and kubectl 1.27+.
#   npm run k8s:up            KIND_CLUSTER=name to use another cluster
set -euo pipefail
cd "$(dirname "$0")/.."
cluster=${KIND_CLUSTER:-grpc-platform}
# One image name for Compose and Kubernetes: PLATFORM_IMAGE of compose/.env.
image=$(sed -n 's/^PLATFORM_IMAGE=//p' compose/.env)
namespace=grpc-platform

kind get clusters 2>/dev/null | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"
kubectl kustomize --load-restrictor LoadRestrictionsNone deploy/kubernetes/overlays/demo |
  kubectl --context "kind-$cluster" apply -f -
for workload in statefulset/postgres deployment/jaeger deployment/prometheus deployment/grafana deployment/user deployment/order deployment/traffic; do
  kubectl --context "kind-$cluster" -n "$namespace" rollout status "$workload" --timeout=5m
done
cat <<EOT
The platform runs in namespace $namespace of kind-$cluster. Reach it with:
  kubectl -n $namespace port-forward svc/grafana 3000:3000       # http://localhost:3000 (admin / demo password)
  kubectl -n $namespace port-forward svc/jaeger 16686:16686      # http://localhost:16686
  kubectl -n $namespace port-forward svc/prometheus 9090:9090    # http://localhost:9090
Remove it with: kind delete cluster --name $cluster
EOT
