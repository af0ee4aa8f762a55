import { type ServerProcess, type StartOptions, startServer } from './server-process.js';
import { waitFor } from './wait.js';

/*
 * The spawned `hookrelay serve` with its admin listener on an ephemeral port (ADMIN_PORT=0): the admin
 * address is read from the "admin listening" log line.
 */

export interface AdminServerProcess extends ServerProcess {
  /** The admin listener's base URL, e.g. http://127.0.0.1:41234. */
  adminUrl: string;
}

/** adminUrlOf finds the admin address in a server's log lines. */
export function adminUrlOf(server: ServerProcess): string | undefined {
  for (const line of server.lines) {
    if (!line.includes('admin listening')) continue;
    return (JSON.parse(line) as { address: string }).address;
  }
  return undefined;
}

/** startAdminServer spawns serve and resolves once both listeners are up. */
export async function startAdminServer(options: StartOptions): Promise<AdminServerProcess> {
  const server = await startServer({ ...options, env: { ADMIN_PORT: '0', ...options.env } });
  await waitFor('the admin listener', () => adminUrlOf(server) !== undefined, {
    timeoutMs: 15_000,
    explain: () => server.lines.join('\n'),
  });
  return Object.assign(server, { adminUrl: adminUrlOf(server) as string });
}
