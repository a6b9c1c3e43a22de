# One image for the platform's Node.js processes: user-service, order-service,
# the traffic generator and the stack's setup job (the command picks which).

# Build: everything, including the code generated from proto/.
FROM node:24.16.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/service-kit/package.json packages/service-kit/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/testing/package.json packages/testing/
COPY services/user/package.json services/user/
COPY services/order/package.json services/order/
COPY observability/package.json observability/
COPY scripts/traffic/package.json scripts/traffic/
COPY dashboards/package.json dashboards/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 # What runs needs only the compiled code and production dependencies.
 && npm prune --omit=dev --no-audit --no-fund \
 # Sources and tests out (compiled code lives in each workspace's dist/src).
 && rm -rf packages/*/src packages/*/test packages/*/dist/test \
           services/*/src services/*/test services/*/dist/test \
           scripts/traffic/src scripts/traffic/test scripts/traffic/dist/test \
           observability dashboards proto buf.yaml buf.gen.yaml .ci compose

FROM node:24.16.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app /app
# The node user (uid 1000) of the official image: never root.
USER node
EXPOSE 50051 50052 9464 9465
# Compose and the README override this per service.
CMD ["node", "--require", "@platform/telemetry/register", "services/user/dist/src/main.js"]
