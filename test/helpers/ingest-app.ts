import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/lib/log.js';
import type { Store } from '../../src/store/ports.js';

/** INGEST_SECRET signs what the ingest-only app accepts (source `trackpilots`). */
export const INGEST_SECRET = 'a-test-secret';

const RULES = `
version: 1
sources:
  trackpilots: { type: trackpilots, secrets: [${INGEST_SECRET}] }
destinations:
  console: { type: log }
rules: []
`;

/** IngestApp is a started in-process relay with no rules, for tests of what ingest does with a store. */
export interface IngestApp {
  app: App;
  url: string;
  /** Stops the app and removes its rules file. */
  stop(): Promise<void>;
}

/**
 * startIngestApp starts the real app (Fastify on an ephemeral port) on `store`, with one Trackpilots
 * source and no rules: what happens to a POST is ingest's and the store's alone.
 */
export async function startIngestApp(store: Store, logger: Logger): Promise<IngestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'hookrelay-ingest-app-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    const loaded = await loadConfig(join(dir, 'rules.yaml'), {});
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const app = createApp({ config: loaded.config, store, logger });
    const url = await app.start({ port: 0, host: '127.0.0.1' });
    return {
      app,
      url,
      async stop() {
        try {
          await app.stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
