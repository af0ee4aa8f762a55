import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.js';

const PEER = '10.0.0.5'; // the load balancer, as the socket sees it

describe('clientAddress', () => {
  it.each([
    {
      name: 'no trusted hops: the peer, whatever the header says',
      xff: '203.0.113.7',
      hops: 0,
      client: PEER,
    },
    { name: 'one hop, no header: the peer', xff: undefined, hops: 1, client: PEER },
    { name: 'one hop: the entry the balancer appended', xff: '203.0.113.7', hops: 1, client: '203.0.113.7' },
    {
      name: 'one hop: a forged entry on the left is ignored',
      xff: '198.51.100.1, 203.0.113.7',
      hops: 1,
      client: '203.0.113.7',
    },
    { name: 'two hops', xff: '203.0.113.7, 10.0.0.9', hops: 2, client: '203.0.113.7' },
    { name: 'more hops than entries: the leftmost', xff: '203.0.113.7', hops: 5, client: '203.0.113.7' },
    { name: 'a port on the entry', xff: '203.0.113.7:5123', hops: 1, client: '203.0.113.7' },
    { name: 'a bracketed IPv6 entry with a port', xff: '[2001:db8::1]:443', hops: 1, client: '2001:db8::1' },
    { name: 'an entry that is not an address', xff: 'unknown', hops: 1, client: undefined },
    { name: 'an empty header', xff: '', hops: 1, client: undefined },
    {
      name: 'the header sent twice (node joins them)',
      xff: ['198.51.100.1', '203.0.113.7'],
      hops: 1,
      client: '203.0.113.7',
    },
  ])('$name', ({ xff, hops, client }) => {
    expect(clientAddress(PEER, xff, hops)).toBe(client);
  });

  it('no peer address (the socket is gone) gives none', () => {
    expect(clientAddress(undefined, undefined, 0)).toBeUndefined();
  });
});
