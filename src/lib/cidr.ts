import { BlockList, isIP } from 'node:net';

/** Cidr is an address range: a network address and how many leading bits of it are fixed. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * parseCidr reads `10.0.0.0/8`, `2001:db8::/32` or a bare address (one host: /32 or /128). It returns
 * undefined for anything else, including a prefix longer than the family allows.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const bits = version === 4 ? 32 : 128;
  if (slash < 0) return { address, prefix: bits, family };
  const prefixText = text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= bits ? { address, prefix, family } : undefined;
}

/** AddressMatcher says whether a client address is inside any of a list of ranges. */
export type AddressMatcher = (address: string) => boolean;

/**
 * createAddressMatcher builds a matcher over CIDR ranges (already checked with parseCidr; an unparsable one
 * throws). An IPv4 client seen as an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, as a dual-stack listener
 * reports it) matches the IPv4 ranges. Text that is not an address matches nothing.
 */
export function createAddressMatcher(ranges: readonly string[]): AddressMatcher {
  const list = new BlockList();
  for (const text of ranges) {
    const cidr = parseCidr(text);
    if (cidr === undefined) throw new RangeError(`not an address range: ${text}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address) => {
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}
