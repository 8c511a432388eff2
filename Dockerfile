# syntax=docker/dockerfile:1
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --prefer-offline --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY crds ./crds
# The image's own non-root user; never 1337, the proxy's UID that escapes interception.
USER 1000:1000
EXPOSE 9443 8080 8081
# Small young-generation semi-spaces: V8's default (sized for a 4 GiB heap) let garbage hold about
# 100 MiB more in both the controller (bench/README.md) and the webhook (docs/webhooks.md).
# config/manager/manager.yaml replaces this command to size the old space from the memory limit.
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/cli/main.js"]
CMD ["run"]
