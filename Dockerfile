# One image for the platform's Node.js processes: user-service, order-service,
# the traffic generator and the storefront page's server (the command picks which).

# What npm ci reads, and nothing else: every package.json and the lock file.
# Copied as a tree, so that a new workspace cannot be left out of the install,
# and the install layer below is rebuilt only when one of them changes.
FROM node:24.16.0-bookworm-slim AS manifests
WORKDIR /app
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json -delete \
 && find . -type d -empty -delete

# Build: the code generated from proto/, and the workspaces that run.
FROM node:24.16.0-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /app ./
RUN npm ci --no-audit --no-fund
COPY . .
# The workspaces the image ships; npm links only these, and keeps only their
# production dependencies. Everything else (tests, benchmarks, dashboards)
# stays out of the image.
ARG RUNTIME_WORKSPACES="packages/contracts packages/telemetry packages/service-kit services/user services/order scripts/traffic web"
# The storefront page is bundled here (Vite); the image serves the bundle, not its sources.
RUN npm run generate \
 && npx tsc --build $RUNTIME_WORKSPACES \
 && npm run build:page -w web \
 && mkdir /runtime \
 && cp -a --parents package.json package-lock.json node_modules $RUNTIME_WORKSPACES /runtime/ \
 && cd /runtime \
 && node -e 'const fs = require("node:fs"); const manifest = JSON.parse(fs.readFileSync("package.json", "utf8")); manifest.workspaces = process.argv.slice(1); fs.writeFileSync("package.json", JSON.stringify(manifest, null, 2) + "\n")' $RUNTIME_WORKSPACES \
 && npm prune --omit=dev --no-audit --no-fund \
 && for workspace in $RUNTIME_WORKSPACES; do \
      rm -rf "$workspace/src" "$workspace/gen" "$workspace/test" "$workspace/dist/test" "$workspace"/tsconfig*.json "$workspace"/dist/*.tsbuildinfo; \
    done \
 && find . -type d -empty -delete

FROM node:24.16.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root: the service cannot change its own code.
COPY --from=build /runtime /app
# The node user (uid 1000) of the official image: never root.
USER node
EXPOSE 50051 50052 9464 9465 8080
# Compose and the README override this per service.
CMD ["node", "--require", "@platform/telemetry/register", "services/user/dist/src/main.js"]
