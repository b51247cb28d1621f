# The hub runs TypeScript directly through tsx: no build step, one image.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json drizzle.config.ts ./
COPY drizzle ./drizzle
COPY src ./src
COPY scripts ./scripts
COPY web-demo ./web-demo
EXPOSE 8080
USER node
CMD ["node", "--import", "tsx", "src/main.ts"]
