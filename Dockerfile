# syntax=docker/dockerfile:1
# Skewless gateway image. Build:  docker build -t skewless .
# Run on embedded stores:         docker run -p 4000:4000 skewless
# Run on real stores:             docker run -p 4000:4000 -e DATABASE_URL=... -e REDIS_URL=... skewless
# (This file is kept correct by reading: the project's CI machines have no Docker engine.)

# --- build: compile TypeScript to dist/ with the dev dependencies -------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and compiled code only, as a non-root user ---------------------
FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# isolated-vm ships prebuilt binaries for linux-x64/arm64 (glibc), so no compiler is needed here.
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# The feature repository. Mount your own over these, or pass --schema / --transforms.
COPY schema ./schema
COPY transforms ./transforms
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
