// The hub's public entry for tests, scripts and the process entry (main.ts); the wiring lives in src/app/.
export { startHub, type Hub, type HubOptions } from './app/start-hub.ts';
