import net from 'node:net';
import { AddressRefusedError, guardedLookup, isBlockedAddress } from '../../lib/safe-fetch.js';

/** What nodemailer passes to `getSocket`: the connection options, the SMTP URL's parts among them. */
interface SocketRequest {
  host?: string;
  port?: number | string;
  secure?: boolean;
}

/** How `getSocket` answers: an error, or a connected socket for nodemailer to speak SMTP (and TLS) over. */
type SocketCallback = (error: Error | null, socketOptions?: { connection: net.Socket }) => void;

/**
 * guardedSmtpSocket is a nodemailer `getSocket` that opens the TCP connection itself, so the SMTP server's
 * address is checked at connect time like every other outbound request: an IP literal in BLOCKED_RANGES
 * is refused at once, and a host name is resolved with guardedLookup, which refuses it when any of its
 * addresses is private, loopback, link-local or reserved. nodemailer then starts TLS on the socket for
 * `smtps://` (or STARTTLS when the server offers it), as it would on a socket of its own.
 */
export function guardedSmtpSocket(timeoutMs: number) {
  return (request: SocketRequest, callback: SocketCallback): void => {
    const written = request.host ?? 'localhost';
    const host = written.startsWith('[') ? written.slice(1, -1) : written;
    const port = Number(request.port) || (request.secure ? 465 : 587);
    // net.connect skips the lookup for an IP literal, so a literal is checked here.
    if (net.isIP(host) !== 0 && isBlockedAddress(host)) {
      callback(new AddressRefusedError(host, host));
      return;
    }
    const socket = net.connect({ host, port, lookup: guardedLookup });
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.setTimeout(0);
      socket.removeListener('error', settle);
      if (error) {
        socket.destroy();
        callback(error);
      } else {
        callback(null, { connection: socket });
      }
    };
    socket.once('connect', () => settle(null));
    socket.once('error', settle);
    socket.setTimeout(timeoutMs, () => {
      settle(Object.assign(new Error(`no connection to ${host}:${port} in time`), { code: 'ETIMEDOUT' }));
    });
  };
}
