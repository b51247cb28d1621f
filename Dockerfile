# The hub runs TypeScript directly: `node --import tsx`, no build step, one image
# for the hub, the seed step and the simulator (see docker-compose.yml). Node
# itself is PID 1 and gets SIGTERM straight from `docker stop`: no launcher in
# between relays it or cuts the drain short.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .nvmrc ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json drizzle.config.ts ./
COPY drizzle ./drizzle
COPY src ./src
COPY clients ./clients
COPY scripts ./scripts
COPY web-demo ./web-demo
EXPOSE 8080
USER node
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "src/main.ts"]
