import { createLeadership } from '../src/evaluate/leadership.js';
import { createLogger } from '../src/lib/log.js';
import { openPostgresLeaderLease } from '../src/store/postgres/leader-lease.js';

/*
 * One instance's evaluator leadership and nothing else, with the defaults `hookrelay serve` uses
 * (TTL 3 s, renew 1 s, standby poll 0.5 s) on the PostgreSQL lease row: what bench/failover.ts and
 * test/e2e/ha-failover.test.ts kill. Prints one JSON line per change of role, with this process's clock.
 *   HOOKRELAY_DB=postgres://… HOLDER=name node dist/bench/lease-holder.js
 */

const url = process.env.HOOKRELAY_DB ?? '';
const holder = process.env.HOLDER ?? `holder-${process.pid}`;
const say = (line: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...line, holder })}\n`);

const lease = openPostgresLeaderLease(url);
const leadership = createLeadership({
  lease,
  holder,
  logger: createLogger('silent'),
  duties: { start: async () => undefined, stop: async () => undefined },
  onChange: (leader, term) => say({ event: leader ? 'leader' : 'standby', term, at: Date.now() }),
});
await leadership.start();
say({ event: 'started', leader: leadership.leader, term: leadership.term });

process.on('SIGTERM', () => {
  void leadership
    .stop()
    .then(() => lease.close())
    .then(() => {
      say({ event: 'resigned', at: Date.now() });
      process.exit(0);
    });
});
