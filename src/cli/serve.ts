import { parseArgs } from 'node:util';
import type { ReloadOutcome } from '../admin/service.js';
import { adminSettingsFromEnv } from '../admin/settings.js';
import { createApp } from '../app.js';
import { type Config, formatIssue, loadConfig } from '../config/load.js';
import { watchConfigFile } from '../config/watch.js';
import { isTlsProblem, readTlsFiles, type TlsFiles, tlsFilesFromEnv } from '../ingest/tls-files.js';
import { HookrelayError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { defaultDatabaseUrl, openStore } from '../store/open.js';
import { openPostgresLeaderLease } from '../store/postgres/leader-lease.js';
import type { CliIo } from './io.js';
import { LOG_LEVELS, parseLogLevel } from './log-level.js';
import { printIssues, rulesFileFor } from './rules-file.js';
import { logStartup } from './startup.js';

const USAGE = `usage: hookrelay serve [rules.yaml]

Receives webhooks, evaluates the rules and delivers alerts until SIGTERM or Ctrl-C; SIGHUP (or saving
the rules file) reloads the rules. Without a file: $HOOKRELAY_CONFIG, else ./rules.yaml, else
./rules.example.yaml.

environment:
  HOOKRELAY_DB   the database (default sqlite:./data/hookrelay.db)
  PORT, HOST     where to listen (default 3000 on 0.0.0.0)
  LOG_LEVEL      ${LOG_LEVELS.join(', ')} (default info)
  TLS_CERT_FILE, TLS_KEY_FILE   serve HTTPS with this PEM certificate chain and key (re-read on SIGHUP)
  ADMIN_HOST, ADMIN_PORT, HOOKRELAY_ADMIN_TOKEN   the dashboard and admin API (default 127.0.0.1:3001; off)
`;

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return 3000;
  const port = Number(text);
  return Number.isInteger(port) && port >= 0 && port <= 65_535 ? port : undefined;
}

/**
 * faultFromEnv reads HOOKRELAY_TEST_FAULT, a test-only fault-injection hook (README, "Development"): the
 * crash tests set `evaluate-before-commit`, which kills the process with SIGKILL after a step is evaluated
 * and before it is committed. Nothing else reads it, any other value is ignored, and it must never be set
 * in production.
 */
function faultFromEnv(env: NodeJS.ProcessEnv): (() => void) | undefined {
  if (env.HOOKRELAY_TEST_FAULT !== 'evaluate-before-commit') return undefined;
  return () => {
    process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * runServe starts the relay and resolves once it listens (undefined: the process keeps running), or with an
 * exit code when it cannot start. SIGTERM/SIGINT stop it gracefully; SIGHUP reloads the rules file.
 */
export async function runServe(args: string[], io: CliIo): Promise<number | undefined> {
  let positionals: string[];
  let help: boolean | undefined;
  try {
    ({
      positionals,
      values: { help },
    } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true }));
  } catch (error) {
    io.stderr(`hookrelay serve: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (help) {
    io.stdout(USAGE);
    return 0;
  }
  if (positionals.length > 1) {
    io.stderr(`hookrelay serve: at most one rules file\n${USAGE}`);
    return 2;
  }
  const port = parsePort(io.env.PORT);
  if (port === undefined) {
    io.stderr(`hookrelay serve: PORT must be a whole number from 0 to 65535, got "${io.env.PORT}"\n`);
    return 2;
  }
  const logLevel = parseLogLevel(io.env.LOG_LEVEL);
  if (logLevel === undefined) {
    io.stderr(
      `hookrelay serve: LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}; got "${io.env.LOG_LEVEL}"\n`,
    );
    return 2;
  }
  const host = io.env.HOST || '0.0.0.0';
  const rulesFile = rulesFileFor(positionals[0], io);
  const configPath = rulesFile.path;
  const adminSettings = adminSettingsFromEnv(io.env);
  if (!adminSettings.ok) {
    io.stderr(`hookrelay serve: ${adminSettings.message} (${adminSettings.code})\n`);
    return 2;
  }

  let lastLoad: { warnings: string[]; errors: string[] } = { warnings: [], errors: [] };
  const load = async (): Promise<Config | undefined> => {
    const result = await loadConfig(configPath, io.env, { cwd: io.cwd });
    if (result.ok) {
      for (const warning of result.warnings) io.stderr(`warning: ${formatIssue(warning)}\n`);
      lastLoad = { warnings: result.warnings.map(formatIssue), errors: [] };
      return result.config;
    }
    printIssues(io, rulesFile, result.issues);
    lastLoad = { warnings: [], errors: result.issues.map(formatIssue) };
    return undefined;
  };

  const config = await load();
  if (!config) {
    io.stderr(`hookrelay serve: ${configPath} is invalid; nothing was started\n`);
    return 1;
  }

  // TLS files are read before anything is opened: a bad pair stops the start with the reason.
  const tlsFiles = tlsFilesFromEnv(io.env);
  if (isTlsProblem(tlsFiles)) {
    io.stderr(`hookrelay serve: ${tlsFiles.message}\n`);
    return 2;
  }
  const tls = tlsFiles === undefined ? undefined : await readTlsFiles(tlsFiles);
  if (isTlsProblem(tls)) {
    io.stderr(`hookrelay serve: ${tls.message} (${tls.code})\n`);
    return 1;
  }

  const logger = createLogger(logLevel);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(defaultDatabaseUrl(io.env), { cwd: io.cwd, logger });
  } catch (error) {
    const message = error instanceof HookrelayError ? `${error.message} (${error.code})` : String(error);
    io.stderr(`hookrelay serve: cannot open the event log: ${message}\n`);
    return 1;
  }

  logStartup(logger, {
    config,
    rulesFile: configPath,
    databaseUrl: defaultDatabaseUrl(io.env),
    cwd: io.cwd,
    host,
  });
  // Several instances share a PostgreSQL database: the evaluator's lease row elects the one that evaluates.
  const lease = store.engine === 'postgres' ? openPostgresLeaderLease(defaultDatabaseUrl(io.env)) : undefined;
  const app = createApp({
    config,
    store,
    logger,
    ...(lease === undefined ? {} : { lease }),
    beforeEvaluatorCommit: faultFromEnv(io.env),
    ...(tls === undefined ? {} : { tls }),
    ...(adminSettings.settings
      ? {
          admin: { ...adminSettings.settings, reload: () => reload('admin API'), env: io.env, cwd: io.cwd },
        }
      : {}),
  });
  try {
    await app.start({ port, host });
  } catch (error) {
    io.stderr(`hookrelay serve: cannot listen on ${host}:${port}: ${(error as Error).message}\n`);
    await app.stop();
    return 1;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    stopWatching();
    logger.info({ signal }, 'stopping: finishing requests in flight');
    app.stop().then(
      () => {
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let reloading: Promise<unknown> = Promise.resolve();
  // Reloads run one at a time; each resolves with what it did (the admin API reports it).
  function reload(trigger: string): Promise<ReloadOutcome> {
    const run = reloading.then(async (): Promise<ReloadOutcome> => {
      const next = await load();
      if (!next) {
        logger.error(
          { file: configPath, trigger },
          'reload refused: the file is invalid; the running rules stay',
        );
        return { ok: false, errors: lastLoad.errors };
      }
      try {
        await app.reload(next);
      } catch (error) {
        logger.error({ err: error, trigger }, 'reload failed');
        return { ok: false, errors: [`reload failed: ${(error as Error).message}`] };
      }
      return { ok: true, rules: next.raw.rules.length, warnings: lastLoad.warnings };
    });
    reloading = run.catch(() => undefined);
    return run;
  }
  // SIGHUP also re-reads the TLS files (a renewed certificate); a pair that does not work is refused and
  // the running one stays, as with the rules file.
  const reloadTls = (files: TlsFiles) => {
    reloading = reloading.then(async () => {
      const next = await readTlsFiles(files);
      if (isTlsProblem(next)) {
        logger.error(
          { code: next.code, reason: next.message },
          'TLS reload refused: the running certificate stays',
        );
        return;
      }
      app.setTls(next);
      logger.info({ certFile: files.certFile }, 'TLS certificate reloaded');
    });
  };
  process.on('SIGHUP', () => {
    void reload('SIGHUP');
    if (tlsFiles !== undefined) reloadTls(tlsFiles);
  });
  const stopWatching = watchConfigFile(configPath, () => void reload('file changed'));
  process.once('beforeExit', stopWatching);
  return undefined;
}
