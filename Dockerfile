# Omneural in a container: one image for every role; the command picks it (start, api, tracking, worker,
# migrate). See docs/deploy.md.
#
#   docker build -t omneural .
#   docker run --rm -e DATABASE_URL=… -e SECRET_KEY=… -p 3000:3000 omneural api

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
# Installs every workspace (install scripts as package.json allows them) and builds the web app, then
# drops what only building and testing need.
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && find packages -name "*.test.ts" -delete && rm -rf test bench docs/screenshots

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    OMNEURAL_DATA_DIR=/var/lib/omneural
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /var/lib/omneural && chown node:node /var/lib/omneural
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "packages/server/bin/omneural.js"]
CMD ["start"]
