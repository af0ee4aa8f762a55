import { describe, expect, it } from 'vitest';
import { createAddressMatcher, parseCidr } from './cidr.js';

describe('parseCidr', () => {
  it.each([
    { text: '10.0.0.0/8', cidr: { address: '10.0.0.0', prefix: 8, family: 'ipv4' } },
    { text: '203.0.113.7', cidr: { address: '203.0.113.7', prefix: 32, family: 'ipv4' } },
    { text: '2001:db8::/32', cidr: { address: '2001:db8::', prefix: 32, family: 'ipv6' } },
    { text: '::1', cidr: { address: '::1', prefix: 128, family: 'ipv6' } },
    { text: '0.0.0.0/0', cidr: { address: '0.0.0.0', prefix: 0, family: 'ipv4' } },
    { text: '10.0.0.0/33', cidr: undefined },
    { text: '2001:db8::/129', cidr: undefined },
    { text: '10.0.0.0/', cidr: undefined },
    { text: '10.0.0.0/8a', cidr: undefined },
    { text: '10.0.0/8', cidr: undefined },
    { text: 'example.com', cidr: undefined },
    { text: '', cidr: undefined },
  ])('$text', ({ text, cidr }) => {
    expect(parseCidr(text)).toEqual(cidr);
  });
});

describe('createAddressMatcher', () => {
  const matches = createAddressMatcher(['10.0.0.0/8', '203.0.113.7', '2001:db8::/32']);

  it.each([
    { address: '10.200.3.4', inside: true },
    { address: '11.0.0.1', inside: false },
    { address: '203.0.113.7', inside: true },
    { address: '203.0.113.8', inside: false },
    { address: '::ffff:10.1.2.3', inside: true },
    { address: '::ffff:11.1.2.3', inside: false },
    { address: '2001:db8:1::5', inside: true },
    { address: '2001:db9::5', inside: false },
    { address: 'not-an-address', inside: false },
    { address: '', inside: false },
  ])('$address → $inside', ({ address, inside }) => {
    expect(matches(address)).toBe(inside);
  });

  it('refuses a range that is not one', () => {
    expect(() => createAddressMatcher(['10.0.0.0/99'])).toThrow(/not an address range/);
  });
});
