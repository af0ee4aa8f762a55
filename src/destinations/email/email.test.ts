import { type AddressInfo, createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSmtp, startFakeSmtp, startTricklingSmtp } from '../../../test/helpers/fake-smtp.js';
import { settles } from '../../../test/helpers/http-receiver.js';
import { TRUNCATION_MARKER } from '../../render/truncate.js';
import {
  BIDI_CONTROLS,
  bidiAlert,
  INJECTION,
  makeContext,
  makeNotification,
  PNG_1X1,
  testDeps,
} from '../testdata/fixtures.js';
import type { Destination, SendResult } from '../types.js';
import type { EmailOptions } from './config.js';
import { emailConfigSchema, emailOptionsFromConfig } from './config.js';
import { createEmailDestination, smtpTransportOptions } from './email.js';
import { MAX_SUBJECT_CHARS } from './render.js';

const PASSWORD = 'smtp-pa55word-secret';

let smtp: FakeSmtp;
let authSmtp: FakeSmtp;
const open: Destination[] = [];

beforeAll(async () => {
  smtp = await startFakeSmtp();
  authSmtp = await startFakeSmtp({ auth: { user: 'relay', pass: PASSWORD } });
});
afterAll(async () => {
  await smtp.close();
  await authSmtp.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  smtp.reset();
  authSmtp.reset();
});

function destination(overrides: Partial<EmailOptions> = {}): Destination {
  const options = emailOptionsFromConfig(
    emailConfigSchema.parse({
      type: 'email',
      smtp: smtp.url,
      from: 'hookrelay <alerts@example.com>',
      to: ['lead@example.com'],
      // The fake SMTP server listens on loopback.
      allowPrivateNetworks: true,
    }),
  );
  const d = createEmailDestination('managers', { ...options, ...overrides }, testDeps());
  open.push(d);
  return d;
}

function expectNoSecret(result: SendResult): void {
  expect(JSON.stringify(result)).not.toContain(PASSWORD);
}

describe('email destination', () => {
  it('starts a conversation with its Message-ID; a follow-up replies to it (In-Reply-To, References)', async () => {
    const first = makeNotification();
    const d = destination();
    const started = await d.send(first, makeContext());
    const original = `<${first.id}@example.com>`;
    expect(started).toEqual({ ok: true, conversation: { messageId: original } });
    expect(smtp.messages[0]?.headers.get('in-reply-to')).toBeUndefined();
    const resolve = makeNotification({ status: 'resolved' }, { id: 'ntf_01HZXAMPLE0000000000000002' });
    const followUp = await d.send(resolve, makeContext({ conversation: { messageId: original } }));
    expect(followUp).toEqual({ ok: true });
    const reply = smtp.messages[1];
    expect(reply?.headers.get('message-id')).toBe(`<${resolve.id}@example.com>`);
    expect(reply?.headers.get('in-reply-to')).toBe(original);
    expect(reply?.headers.get('references')).toBe(original);
  });

  it('sends text and HTML alternatives with a stable Message-ID', async () => {
    const notification = makeNotification();
    const result = await destination({ cc: ['ops@example.com'] }).send(notification, makeContext());
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    const [mail] = smtp.messages;
    expect(mail?.envelope).toEqual({
      from: 'alerts@example.com',
      to: ['lead@example.com', 'ops@example.com'],
    });
    expect(mail?.subject).toBe('[warning] Unproductive hour: Ada Lovelace');
    expect(mail?.headers.get('content-type')).toMatch(/^multipart\/alternative/);
    expect(mail?.headers.get('message-id')).toBe(`<${notification.id}@example.com>`);
    expect(mail?.headers.get('x-hookrelay-alert-id')).toBe('alert-0001');
    expect(mail?.text).toContain('31m 00s on unproductive apps in the last hour (latest: Solitaire)');
    expect(mail?.text).toContain('Rule: unproductive-hour');
    expect(mail?.text).toContain('User: Ada Lovelace');
    expect(mail?.html).toContain('<h2');
    expect(mail?.html).toContain('Unproductive hour: Ada Lovelace</h2>');
    expect(mail?.html).toContain('<th align="left" style="padding:2px 12px 2px 0;color:#555">Value</th>');
  });

  it("adds the person's and the manager's directory addresses with toPeople, skipping people without one", async () => {
    const notification = makeNotification({
      person: { id: 'u-ada', name: 'Ada Lovelace', email: 'ada@example.com', manager: 'u-grace' },
      manager: { id: 'u-grace', name: 'Grace Hopper', email: 'grace@example.com' },
    });
    expect(
      await destination({ toPeople: ['person', 'manager'] }).send(notification, makeContext()),
    ).toMatchObject({
      ok: true,
    });
    expect(smtp.messages[0]?.envelope.to).toEqual([
      'lead@example.com',
      'ada@example.com',
      'grace@example.com',
    ]);

    const withoutManager = makeNotification({ person: { id: 'u-alan', name: 'Alan Turing' } });
    expect(
      await destination({ toPeople: ['person', 'manager'] }).send(withoutManager, makeContext()),
    ).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    expect(smtp.messages[1]?.envelope.to).toEqual(['lead@example.com']);
  });

  it('puts the subject prefix first', async () => {
    await destination({ subjectPrefix: '[hookrelay]' }).send(
      makeNotification({ severity: 'critical' }),
      makeContext(),
    );
    expect(smtp.messages[0]?.subject).toBe('[hookrelay] [critical] Unproductive hour: Ada Lovelace');
  });

  it('keeps CRLF in a title from creating headers or recipients', async () => {
    await destination().send(makeNotification({ title: INJECTION.crlf }), makeContext());
    const mail = smtp.messages[0];
    expect(mail?.subject).toBe('[warning] Quiet Bcc: evil@example.com X-Injected: yes');
    expect(mail?.headers.has('bcc')).toBe(false);
    expect(mail?.headers.has('x-injected')).toBe(false);
    expect(mail?.envelope.to).toEqual(['lead@example.com']);
    expect(smtp.recipients).toEqual(['lead@example.com']);
  });

  it('neutralises bidirectional controls in the subject and both bodies', async () => {
    await destination({ subjectPrefix: `[x\u202E]` }).send(makeNotification(bidiAlert()), makeContext());
    const mail = smtp.messages[0];
    expect(mail?.subject).toBe('[x] [warning] Title Invoice fdp.exe x y z q r');
    for (const text of [mail?.subject, mail?.headers.get('subject'), mail?.text, mail?.html]) {
      expect(text).toBeDefined();
      expect(text).not.toMatch(BIDI_CONTROLS);
    }
  });

  it('escapes HTML from the payload', async () => {
    await destination().send(
      makeNotification({
        title: `T ${INJECTION.script}`,
        text: `X ${INJECTION.script}`,
        person: { id: 'u', name: '<b>Eve</b>' },
      }),
      makeContext(),
    );
    const html = smtp.messages[0]?.html ?? '';
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>Eve');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&lt;b&gt;Eve&lt;/b&gt;');
    // The text alternative is not HTML: it carries the text as it is.
    expect(smtp.messages[0]?.text).toContain(INJECTION.script);
  });

  it('attaches the screenshot from bytes', async () => {
    const result = await destination().send(
      makeNotification({ attachScreenshot: true }),
      makeContext({ image: { bytes: PNG_1X1, mime: 'image/png' } }),
    );
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    const mail = smtp.messages[0];
    expect(mail?.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    expect(mail?.attachments).toHaveLength(1);
    expect(mail?.attachments[0]).toMatchObject({ filename: 'screenshot.png', contentType: 'image/png' });
    expect(mail?.attachments[0]?.content.equals(PNG_1X1)).toBe(true);
    expect(mail?.html).toBeDefined();
    expect(mail?.text).toBeDefined();
  });

  it('cuts an oversize subject and body with the marker instead of refusing', async () => {
    const result = await destination().send(
      makeNotification({ title: '🚨'.repeat(500), text: 'x'.repeat(150_000) }),
      makeContext(),
    );
    expect(result.ok).toBe(true);
    const mail = smtp.messages[0];
    expect(Array.from(mail?.subject ?? '').length).toBeLessThanOrEqual(MAX_SUBJECT_CHARS);
    expect(mail?.subject.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(mail?.text).toContain(`x${TRUNCATION_MARKER}`);
  });

  it('delivers when some recipients are rejected, and says which', async () => {
    smtp.rejectRecipient('gone@example.com', { code: 550, message: '5.1.1 User unknown' });
    const result = await destination({ to: ['lead@example.com', 'gone@example.com'] }).send(
      makeNotification(),
      makeContext(),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.detail).toContain(
      'delivered to 1 of 2 recipients; rejected: gone@example.com',
    );
    expect(result.ok && result.detail).toContain('User unknown');
    expect(smtp.messages[0]?.envelope.to).toEqual(['lead@example.com']);
  });

  it.each([
    [
      'RCPT 550 (every recipient)',
      'broken',
      'notFound',
      () => smtp.rejectRecipient('nobody@example.com', { code: 550 }),
    ],
    ['RCPT 451', 'retry', 'serverError', () => smtp.rejectRecipient('nobody@example.com', { code: 451 })],
    ['RCPT 452', 'retry', 'serverError', () => smtp.rejectRecipient('nobody@example.com', { code: 452 })],
    [
      'MAIL FROM 553',
      'broken',
      'notFound',
      () => smtp.scriptMailFrom({ code: 553, message: 'sender not allowed' }),
    ],
    ['MAIL FROM 421', 'retry', 'serverError', () => smtp.scriptMailFrom({ code: 421, message: 'try later' })],
    [
      'DATA 554',
      'dead',
      'payloadRejected',
      () => smtp.scriptData({ code: 554, message: '5.7.1 rejected as spam' }),
    ],
    ['DATA 552', 'dead', 'payloadRejected', () => smtp.scriptData({ code: 552, message: 'message too big' })],
    ['DATA 451', 'retry', 'serverError', () => smtp.scriptData({ code: 451, message: 'local error' })],
  ] as const)('classifies %s as %s/%s', async (_label, outcome, reason, arrange) => {
    arrange();
    const result = await destination({ to: ['nobody@example.com'] }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome, reason });
  });

  it('classifies bad credentials as broken without leaking them', async () => {
    const url = new URL(authSmtp.url);
    url.username = 'relay';
    url.password = 'wrong-password-value';
    const result = await destination({ smtpUrl: url.toString() }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'authError' });
    expect(JSON.stringify(result)).not.toContain('wrong-password-value');
  });

  it('authenticates with credentials from the URL', async () => {
    const url = new URL(authSmtp.url);
    url.username = 'relay';
    url.password = PASSWORD;
    const result = await destination({ smtpUrl: url.toString() }).send(makeNotification(), makeContext());
    expect(result).toEqual({ ok: true, conversation: { messageId: expect.any(String) } });
    expect(authSmtp.messages).toHaveLength(1);
  });

  it('classifies a server that requires AUTH as broken', async () => {
    const result = await destination({ smtpUrl: authSmtp.url }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'authError' });
    expectNoSecret(result);
  });

  it('pools connections with short timeouts and never reads a file or fetches a URL for a message', () => {
    const base = {
      smtpUrl: 'smtps://u:p@smtp.example.com:465',
      from: 'a@example.com',
      to: ['b@example.com'],
    };
    const guarded = smtpTransportOptions({ ...base, timeoutMs: 30_000 });
    expect(guarded).toMatchObject({ pool: true, disableFileAccess: true, disableUrlAccess: true });
    expect(guarded.connectionTimeout).toBeLessThanOrEqual(10_000);
    expect(typeof guarded.getSocket).toBe('function');
    // Allowing private networks drops only the address check.
    const allowed = smtpTransportOptions({ ...base, timeoutMs: 30_000, allowPrivateNetworks: true });
    expect(allowed).toMatchObject({ pool: true, disableFileAccess: true, disableUrlAccess: true });
    expect('getSocket' in allowed).toBe(false);
  });

  it('refuses a loopback SMTP server unless allowPrivateNetworks is set, before connecting', async () => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    try {
      // The literal is refused as written; the name only once it resolves to loopback.
      for (const host of ['127.0.0.1', 'localhost', '[::1]']) {
        const result = await destination({
          smtpUrl: `smtp://user:${PASSWORD}@${host}:${port}`,
          allowPrivateNetworks: false,
        }).send(makeNotification(), makeContext());
        expect(result).toMatchObject({ ok: false, outcome: 'broken', reason: 'refused' });
        expect(result.ok ? '' : result.detail).toMatch(/refused to connect to .*allowPrivateNetworks: true/);
        expectNoSecret(result);
      }
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  });

  it('classifies a refused connection as a network retry', async () => {
    const gone = await startFakeSmtp();
    const smtpUrl = gone.url;
    await gone.close();
    const result = await destination({ smtpUrl }).send(makeNotification(), makeContext());
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'network' });
  });

  it('classifies a stalled server as a timeout', async () => {
    smtp.scriptData({ delayMs: 3_000 });
    const result = await destination({ timeoutMs: 300 }).send(makeNotification(), makeContext());
    // Had it waited for the answer, it would be a delivery: the timeout is what ended it.
    expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
  });

  it('bounds the whole attempt: a server that trickles its answer to the message is cut at the timeout', async () => {
    const trickling = await startTricklingSmtp();
    try {
      const result = await settles(
        destination({ smtpUrl: trickling.url, timeoutMs: 300 }).send(makeNotification(), makeContext()),
        'an SMTP send whose final reply trickles',
      );
      expect(result).toMatchObject({ ok: false, outcome: 'retry', reason: 'timeout' });
      await trickling.waitForHangUps(1);
    } finally {
      await trickling.close();
    }
  });

  it('reuses the Message-ID on a retried attempt', async () => {
    smtp.scriptData({ code: 451 });
    const d = destination();
    const notification = makeNotification();
    expect((await d.send(notification, makeContext())).ok).toBe(false);
    expect((await d.send(notification, makeContext({ attempt: 2 }))).ok).toBe(true);
    expect(smtp.messages[0]?.headers.get('message-id')).toBe(`<${notification.id}@example.com>`);
  });
});

describe('email config', () => {
  it('rejects comma-joined recipients and non-SMTP URLs', () => {
    const base = { type: 'email', smtp: 'smtp://mail.example.com:587', from: 'a@example.com' };
    expect(emailConfigSchema.safeParse({ ...base, to: ['a@example.com'] }).success).toBe(true);
    expect(emailConfigSchema.safeParse({ ...base, to: ['a@example.com, b@example.com'] }).success).toBe(
      false,
    );
    expect(emailConfigSchema.safeParse({ ...base, smtp: 'http://x', to: ['a@example.com'] }).success).toBe(
      false,
    );
    expect(emailConfigSchema.safeParse({ ...base, to: [] }).success).toBe(false);
  });
});
