import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Peer names one binary the peer comparison needs, and the Debian package that installs it. */
export interface Peer {
  /** What the report calls it. */
  name: string;
  /** Executable names tried on PATH, in order (Debian renames Alertmanager's). */
  executables: string[];
  debianPackage: string;
}

export const WRK: Peer = { name: 'wrk', executables: ['wrk'], debianPackage: 'wrk' };
export const WEBHOOK: Peer = {
  name: 'adnanh/webhook',
  executables: ['webhook'],
  debianPackage: 'webhook',
};
export const ALERTMANAGER: Peer = {
  name: 'Alertmanager',
  executables: ['prometheus-alertmanager', 'alertmanager'],
  debianPackage: 'prometheus-alertmanager',
};

/** findPeer returns the absolute path of the peer's binary on PATH, or undefined when none is installed. */
export function findPeer(peer: Peer, path = process.env.PATH ?? ''): string | undefined {
  for (const executable of peer.executables) {
    for (const dir of path.split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, executable);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here; next directory
      }
    }
  }
  return undefined;
}

/** missingMessage says which peer is missing and how to install it; the bench goes on without it. */
export function missingMessage(peer: Peer, skipped: string): string {
  return `${peer.name} is not installed (no ${peer.executables.join(' or ')} on PATH): ${skipped} skipped. Install it with: sudo apt-get install -y ${peer.debianPackage}`;
}
