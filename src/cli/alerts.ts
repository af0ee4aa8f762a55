import { parseArgs } from 'node:util';
import type { AlertView } from '../admin/view-types.js';
import { adminTargetOf, createAdminClient, describeFailure } from './admin-client.js';
import type { CliIo } from './io.js';

const USAGE = `usage: hookrelay alerts [--url URL] [--rule NAME] [--destination NAME] [--status pending|delivered|dead]
                       [--limit N] [--json]
  recent alerts, newest first, with their delivery status per destination, from the admin API
  (--url or HOOKRELAY_ADMIN_URL, default http://127.0.0.1:3001; token from HOOKRELAY_ADMIN_TOKEN)
`;

function line(view: AlertView): string {
  const when = new Date(view.createdAt).toISOString().replace('T', ' ').slice(0, 19);
  const deliveries = view.deliveries.map((d) => `${d.destination}:${d.status}`).join(' ');
  return `${when}  ${view.alert.severity.padEnd(8)} ${view.alert.rule.padEnd(24)} ${view.alert.title}  [${deliveries}]\n`;
}

/** runAlerts is `hookrelay alerts`: lists recent alerts through the admin API. */
export async function runAlerts(args: string[], io: CliIo): Promise<number> {
  let values: {
    url?: string;
    rule?: string;
    destination?: string;
    status?: string;
    limit?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        rule: { type: 'string' },
        destination: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string', default: '20' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.stderr(`hookrelay alerts: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (values.status !== undefined && !['pending', 'delivered', 'dead'].includes(values.status)) {
    io.stderr(`hookrelay alerts: --status must be pending, delivered or dead\n${USAGE}`);
    return 2;
  }
  try {
    const client = createAdminClient(adminTargetOf(values.url, io.env));
    const { alerts } = await client.get<{ alerts: AlertView[] }>('/api/v1/alerts', {
      rule: values.rule,
      destination: values.destination,
      status: values.status,
      limit: values.limit,
    });
    if (values.json) io.stdout(`${JSON.stringify(alerts, null, 2)}\n`);
    else if (alerts.length === 0) io.stdout('no alerts match\n');
    else for (const view of alerts) io.stdout(line(view));
    return 0;
  } catch (error) {
    io.stderr(describeFailure('alerts', error));
    return 1;
  }
}
