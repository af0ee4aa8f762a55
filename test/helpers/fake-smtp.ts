import net, { type AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** MimePart is one decoded leaf of a received message. */
export interface MimePart {
  contentType: string;
  headers: Map<string, string>;
  /** Decoded content (base64 / quoted-printable undone). */
  content: Buffer;
  filename?: string;
}

/** ReceivedMail is one accepted message, parsed just enough for assertions. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: string;
  /** Top-level headers, names lower-cased, folded lines joined. */
  headers: Map<string, string>;
  /** The Subject with RFC 2047 encoded-words decoded. */
  subject: string;
  text?: string;
  html?: string;
  attachments: MimePart[];
  /** Every leaf part, in order. */
  parts: MimePart[];
}

/** SMTP reply scripted for a command: `code` + text, or a delay before the normal answer. */
export interface SmtpReply {
  code?: number;
  message?: string;
  delayMs?: number;
}

/** FakeSmtpOptions configures a FakeSmtp. */
export interface FakeSmtpOptions {
  /** Require AUTH with these credentials (clear-text auth is allowed on the fake). */
  auth?: { user: string; pass: string };
}

/** FakeSmtp is an in-process smtp-server on 127.0.0.1 that records messages and answers from a script. */
export interface FakeSmtp {
  /** `smtp://127.0.0.1:<port>` (add credentials yourself when the fake requires AUTH). */
  readonly url: string;
  readonly port: number;
  readonly messages: ReceivedMail[];
  /** Every RCPT TO address seen, accepted or not. */
  readonly recipients: string[];
  /** Answer RCPT TO for `address` with this reply every time (e.g. 550 user unknown). */
  rejectRecipient(address: string, reply: SmtpReply): void;
  /** Queue replies for the next MAIL FROM commands. */
  scriptMailFrom(...replies: SmtpReply[]): void;
  /** Queue replies for the next DATA commands (after the message was received). */
  scriptData(...replies: SmtpReply[]): void;
  /** Forget recorded messages, recipients, rejections and unused scripted replies. */
  reset(): void;
  close(): Promise<void>;
}

function smtpError(reply: SmtpReply): Error & { responseCode?: number } {
  const error: Error & { responseCode?: number } = new Error(reply.message ?? 'rejected by the fake');
  if (reply.code !== undefined) error.responseCode = reply.code;
  return error;
}

/** startFakeSmtp starts a FakeSmtp on 127.0.0.1:0 (no TLS, AUTH optional unless `auth` is given). */
export async function startFakeSmtp(options: FakeSmtpOptions = {}): Promise<FakeSmtp> {
  const messages: ReceivedMail[] = [];
  const recipients: string[] = [];
  const rejections = new Map<string, SmtpReply>();
  const mailFromQueue: SmtpReply[] = [];
  const dataQueue: SmtpReply[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    authOptional: options.auth === undefined,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
        return;
      }
      const error: Error & { responseCode?: number } = new Error('Authentication credentials invalid');
      error.responseCode = 535;
      callback(error);
    },
    onMailFrom(_address, _session, callback) {
      const reply = mailFromQueue.shift();
      if (!reply) return callback();
      const answer = () => (reply.code === undefined ? callback() : callback(smtpError(reply)));
      if (reply.delayMs) later(reply.delayMs, answer);
      else answer();
    },
    onRcptTo(address, _session, callback) {
      recipients.push(address.address);
      const reply = rejections.get(address.address.toLowerCase());
      callback(reply ? smtpError(reply) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const reply = dataQueue.shift();
        const accept = () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          messages.push(
            parseMail(raw, {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            }),
          );
          callback();
        };
        const answer = () => (reply?.code === undefined ? accept() : callback(smtpError(reply)));
        if (reply?.delayMs) later(reply.delayMs, answer);
        else answer();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    recipients,
    rejectRecipient: (address, reply) => rejections.set(address.toLowerCase(), reply),
    scriptMailFrom: (...replies) => mailFromQueue.push(...replies),
    scriptData: (...replies) => dataQueue.push(...replies),
    reset: () => {
      messages.length = 0;
      recipients.length = 0;
      rejections.clear();
      mailFromQueue.length = 0;
      dataQueue.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** parseMail is a minimal MIME reader: headers, multipart nesting, base64 and quoted-printable. */
export function parseMail(raw: string, envelope: ReceivedMail['envelope']): ReceivedMail {
  const parts: MimePart[] = [];
  const { headers, body } = splitEntity(raw);
  collectParts(headers, body, parts);
  const text = parts.find((part) => part.contentType === 'text/plain' && part.filename === undefined);
  const html = parts.find((part) => part.contentType === 'text/html' && part.filename === undefined);
  return {
    envelope,
    raw,
    headers,
    subject: decodeEncodedWords(headers.get('subject') ?? ''),
    ...(text ? { text: text.content.toString('utf8') } : {}),
    ...(html ? { html: html.content.toString('utf8') } : {}),
    attachments: parts.filter((part) => part.filename !== undefined),
    parts,
  };
}

function splitEntity(entity: string): { headers: Map<string, string>; body: string } {
  const normalized = entity.replace(/\r\n/g, '\n');
  const end = normalized.indexOf('\n\n');
  const head = end === -1 ? normalized : normalized.slice(0, end);
  const body = end === -1 ? '' : normalized.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function param(header: string, name: string): string | undefined {
  const match = new RegExp(`${name}\\*?=("([^"]*)"|[^;\\s]+)`, 'i').exec(header);
  return match ? (match[2] ?? match[1]) : undefined;
}

function collectParts(headers: Map<string, string>, body: string, out: MimePart[]): void {
  const typeHeader = headers.get('content-type') ?? 'text/plain';
  const contentType = (typeHeader.split(';')[0] ?? '').trim().toLowerCase();
  if (contentType.startsWith('multipart/')) {
    const boundary = param(typeHeader, 'boundary');
    if (!boundary) return;
    const sections = body.split(`--${boundary}`);
    for (const section of sections.slice(1)) {
      if (section.startsWith('--')) break;
      const child = splitEntity(section.replace(/^\n/, ''));
      collectParts(child.headers, child.body, out);
    }
    return;
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const content =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : Buffer.from(body.replace(/\n$/, ''), 'utf8');
  const disposition = headers.get('content-disposition') ?? '';
  const filename = param(disposition, 'filename') ?? param(typeHeader, 'name');
  out.push({
    contentType,
    headers,
    content,
    ...(filename ? { filename: decodeEncodedWords(filename) } : {}),
  });
}

function decodeQuotedPrintable(text: string): Buffer {
  const joined = text.replace(/=\n/g, '').replace(/\n$/, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const ch = joined[i] as string;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** decodeEncodedWords undoes RFC 2047 `=?charset?B|Q?…?=` (adjacent words join without the space between). */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_match, _charset: string, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')).toString('utf8'),
    );
}

/** TricklingSmtp is a raw SMTP peer that accepts a message and then never finishes its answer to it. */
export interface TricklingSmtp {
  /** `smtp://127.0.0.1:<port>` */
  readonly url: string;
  /** Clients that closed the connection while the final reply was still trickling. */
  readonly hangUps: number;
  /** Resolves once at least `count` clients have hung up mid-reply. */
  waitForHangUps(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * startTricklingSmtp starts an SMTP peer on 127.0.0.1:0 that speaks normally up to the end of DATA, then
 * answers it with `250-` continuation lines, one every `everyMs`, forever: the reply never completes, and
 * the connection is never silent long enough for a socket timeout (smtp-server cannot be made to do this).
 */
export async function startTricklingSmtp(everyMs = 50): Promise<TricklingSmtp> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let hangUps = 0;
  const waiters = new Set<() => void>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buffered = '';
    let inData = false;
    let trickling: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      sockets.delete(socket);
      if (trickling === undefined) return;
      clearInterval(trickling);
      timers.delete(trickling);
      hangUps += 1;
      for (const wake of waiters) wake();
    });
    socket.on('error', () => undefined);
    socket.write('220 trickle.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffered.indexOf('\r\n.\r\n');
          if (end < 0) return;
          buffered = buffered.slice(end + 5);
          inData = false;
          trickling = setInterval(() => socket.write('250-still working\r\n'), everyMs);
          timers.add(trickling);
          continue;
        }
        const end = buffered.indexOf('\r\n');
        if (end < 0) return;
        const line = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 trickle.test\r\n');
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    get hangUps() {
      return hangUps;
    },
    waitForHangUps: (count, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (hangUps < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} SMTP clients to hang up, saw ${hangUps}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
