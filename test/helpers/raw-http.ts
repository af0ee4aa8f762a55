import { connect, type Socket } from 'node:net';

/** RawConnection is a plain TCP connection to a test server, for requests no HTTP client would send. */
export interface RawConnection {
  socket: Socket;
  /** Everything the server has sent so far, as text. */
  received(): string;
  /** Resolves with everything received once the server (or the test) has closed the connection. */
  closed: Promise<string>;
}

/**
 * connectRaw opens a TCP connection to the host and port of `url` and resolves once it is connected.
 * Resets and broken pipes are part of what these tests provoke: they end the connection, never the test.
 */
export function connectRaw(url: string): Promise<RawConnection> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    const closed = new Promise<string>((resolveClosed) => socket.once('close', () => resolveClosed(text)));
    socket.on('error', (error) => {
      if (!socket.connecting) return;
      reject(error);
    });
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
  });
}

/** writeAll writes `data` and resolves once it is handed to the kernel (or the connection is gone). */
export function writeAll(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(data, () => resolve());
  });
}

/** statusOf is the status code of the first response in `text`, or undefined when none has arrived. */
export function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** bodyOf is the body of a complete, non-chunked response in `text`. */
export function bodyOf(text: string): string {
  const at = text.indexOf('\r\n\r\n');
  return at < 0 ? '' : text.slice(at + 4);
}
