import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, stop as stopEsbuild } from 'esbuild';

export interface DemoAsset {
  contentType: string;
  body: Buffer;
}

const DEMO_DIR = fileURLToPath(new URL('../../web-demo/', import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Builds the browser map demo in memory and returns it by URL path. Built at
 * hub start rather than shipped prebuilt, so the page always speaks the same
 * protocol types as the hub serving it; everything, Leaflet included, comes
 * from the hub, because the demo must work with no internet.
 */
export async function loadDemoAssets(): Promise<Map<string, DemoAsset>> {
  const [bundle, html, css, leafletCss] = await Promise.all([
    build({
      entryPoints: [`${DEMO_DIR}src/main.ts`],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
    }),
    readFile(`${DEMO_DIR}index.html`),
    readFile(`${DEMO_DIR}styles.css`),
    // Leaflet's JS is bundled into app.js; its stylesheet is served as it ships.
    // The demo draws its own markers, so Leaflet's marker images are never asked for.
    readFile(require.resolve('leaflet/dist/leaflet.css')),
  ]);
  // Stop esbuild's service process before the hub accepts sockets. While it
  // ran, sockets opened in the hub's first seconds were shut right after
  // opening (the uWS async-upgrade bug described in test/support/steady-connect.ts)
  // in about one start of three; once stopped, in none of 28.
  await stopEsbuild();
  const app = bundle.outputFiles[0];
  if (!app) throw new Error('esbuild produced no output for the web demo');

  const page: DemoAsset = { contentType: 'text/html; charset=utf-8', body: html };
  return new Map<string, DemoAsset>([
    ['/', page],
    ['/index.html', page],
    ['/app.js', { contentType: 'text/javascript; charset=utf-8', body: Buffer.from(app.contents) }],
    ['/styles.css', { contentType: 'text/css; charset=utf-8', body: css }],
    ['/vendor/leaflet.css', { contentType: 'text/css; charset=utf-8', body: leafletCss }],
  ]);
}
