import { isIP } from 'node:net';

// One entry of X-Forwarded-For may carry a port ("203.0.113.7:5123", "[2001:db8::1]:443"); the address
// is what an allowlist is about.
const BRACKETED = /^\[([^\]]+)\](?::\d+)?$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/;

function addressOf(entry: string): string {
  const text = entry.trim();
  return BRACKETED.exec(text)?.[1] ?? IPV4_WITH_PORT.exec(text)?.[1] ?? text;
}

/**
 * clientAddress is the address a request comes from, as an allowlist must see it. With `trustedHops` 0 it
 * is the peer's, and X-Forwarded-For is ignored (anyone can send that header). Behind N proxies that each
 * append the address they saw, it is the entry N places from the right of [...X-Forwarded-For, peer]: the
 * one the outermost trusted proxy wrote; entries further left are whatever the client claimed. It returns
 * undefined when that entry is not an IP address, which no allowlist matches.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): string | undefined {
  if (trustedHops === 0 || forwardedFor === undefined) return peer;
  const entries = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  const chain = [...entries.map(addressOf), ...(peer === undefined ? [] : [peer])];
  const client = chain[Math.max(0, chain.length - 1 - trustedHops)];
  return client !== undefined && isIP(client) !== 0 ? client : undefined;
}
