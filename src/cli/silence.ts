import { parseArgs } from 'node:util';
import type { SilenceView } from '../admin/view-types.js';
import { adminTargetOf, createAdminClient, describeFailure } from './admin-client.js';
import type { CliIo } from './io.js';

const USAGE = `usage: hookrelay silence add --matcher FIELD=VALUE [--matcher …] (--for 2h | --until ISO) [--starts ISO]
                           --comment TEXT [--by NAME] [--url URL] [--json]
       hookrelay silence list [--all] [--url URL] [--json]
       hookrelay silence expire <id> [--url URL]
  stored silences through the admin API: they survive restarts and apply on every instance.
  FIELD is a field path as in a rule's if: (rule, user, app.name, severity, …); true/false are booleans.
  --url or HOOKRELAY_ADMIN_URL (default http://127.0.0.1:3001); token from HOOKRELAY_ADMIN_TOKEN.
`;

function describe(silence: SilenceView): string {
  const until = silence.expiredAt ?? silence.endsAt;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return `${silence.id}  ${silence.state.padEnd(7)} until ${iso(until)}  ${JSON.stringify(silence.matchers)}  ${silence.comment} (${silence.createdBy})\n`;
}

function matchersOf(pairs: string[]): Record<string, unknown> | string {
  const matchers: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) return `--matcher "${pair}" is not FIELD=VALUE`;
    const value = pair.slice(at + 1);
    matchers[pair.slice(0, at).trim()] = value === 'true' ? true : value === 'false' ? false : value;
  }
  return matchers;
}

/** runSilence is `hookrelay silence add|list|expire`. */
export async function runSilence(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(USAGE);
    return sub === undefined ? 2 : 0;
  }
  let values: {
    url?: string;
    matcher?: string[];
    for?: string;
    until?: string;
    starts?: string;
    comment?: string;
    by?: string;
    all?: boolean;
    json?: boolean;
    help?: boolean;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        matcher: { type: 'string', multiple: true, short: 'm' },
        for: { type: 'string' },
        until: { type: 'string' },
        starts: { type: 'string' },
        comment: { type: 'string' },
        by: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr(`hookrelay silence: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const usage = (message: string) => {
    io.stderr(`hookrelay silence ${sub}: ${message}\n${USAGE}`);
    return 2;
  };
  try {
    const client = createAdminClient(adminTargetOf(values.url, io.env));
    switch (sub) {
      case 'add': {
        const matchers = matchersOf(values.matcher ?? []);
        if (typeof matchers === 'string') return usage(matchers);
        if (Object.keys(matchers).length === 0) return usage('give at least one --matcher FIELD=VALUE');
        if ((values.for === undefined) === (values.until === undefined))
          return usage('give --for or --until');
        if (values.comment === undefined || values.comment.trim() === '') return usage('--comment says why');
        const created = await client.post<SilenceView>('/api/v1/silences', {
          matchers,
          endsAt: values.until ?? values.for,
          ...(values.starts !== undefined ? { startsAt: values.starts } : {}),
          comment: values.comment,
          createdBy: values.by ?? io.env.USER ?? 'cli',
        });
        io.stdout(values.json ? `${JSON.stringify(created, null, 2)}\n` : describe(created));
        return 0;
      }
      case 'list': {
        const { silences } = await client.get<{ silences: SilenceView[] }>('/api/v1/silences', {
          all: values.all ? 'true' : undefined,
        });
        if (values.json) io.stdout(`${JSON.stringify(silences, null, 2)}\n`);
        else if (silences.length === 0)
          io.stdout(values.all ? 'no silences stored\n' : 'no active or pending silence\n');
        else for (const silence of silences) io.stdout(describe(silence));
        return 0;
      }
      case 'expire': {
        const [id, ...extra] = positionals;
        if (id === undefined || extra.length > 0) return usage('give one silence id');
        const expired = await client.post<SilenceView>(`/api/v1/silences/${encodeURIComponent(id)}/expire`);
        io.stdout(values.json ? `${JSON.stringify(expired, null, 2)}\n` : describe(expired));
        return 0;
      }
      default:
        return usage(`unknown subcommand "${sub}"`);
    }
  } catch (error) {
    io.stderr(describeFailure(`silence ${sub}`, error));
    return 1;
  }
}
