import { afterAll } from 'vitest';
import { describeAdminReadsContract, describeSilenceContract } from '../admin-contract.js';
import {
  describeEvaluatorContract,
  describeEventLogContract,
  describeEventQueryContract,
  describeOutboxContract,
} from '../contract.js';
import { conversationContract } from '../conversation-contract.js';
import { nonceContract } from '../nonce-contract.js';
import { describePacingContract } from '../pacing-contract.js';
import { openPostgresStore } from './postgres-store.js';
import { TEST_PG_URL, TestSchemas } from './test-schema.js';

const schemas = new TestSchemas();
afterAll(() => schemas.dropAll());

// A fresh schema per store: each test starts from an empty database, as the suites expect.
const makeStore = async () => openPostgresStore(TEST_PG_URL, { schema: await schemas.create() });

describeEventLogContract('postgres', makeStore);
describeEventQueryContract('postgres', makeStore);
describeEvaluatorContract('postgres', makeStore);
describeOutboxContract('postgres', makeStore);
describeSilenceContract('postgres', makeStore);
describeAdminReadsContract('postgres', makeStore);
conversationContract('postgres', makeStore);
nonceContract('postgres', makeStore);
// Two stores on one schema, as two instances on one database.
describePacingContract('postgres', async () => {
  const schema = await schemas.create();
  return [await openPostgresStore(TEST_PG_URL, { schema }), await openPostgresStore(TEST_PG_URL, { schema })];
});
