# syntax=docker/dockerfile:1

# --- production dependencies only (better-sqlite3 is native: build tools are needed if no prebuilt fits)
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- compile TypeScript with the full toolchain
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build

# --- runtime: no compiler, no dev dependencies, non-root
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOOKRELAY_DB=sqlite:/data/hookrelay.db \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The dashboard's templates, stylesheet and script are read at run time (htmx comes from node_modules).
COPY src/admin/assets ./src/admin/assets
COPY package.json rules.example.yaml rules.schema.json ./
RUN chmod +x dist/src/main.js \
  && ln -s /app/dist/src/main.js /usr/local/bin/hookrelay \
  && mkdir -p /data \
  && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Mount your rules at /app/rules.yaml (or set HOOKRELAY_CONFIG); without one the example rules are served.
# Over HTTPS when TLS_CERT_FILE is set; the certificate names the public host, not 127.0.0.1, so this
# loopback check does not verify it.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require(process.env.TLS_CERT_FILE?'node:https':'node:http').get({host:'127.0.0.1',port:process.env.PORT||3000,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["hookrelay", "serve"]
