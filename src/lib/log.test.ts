import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('trace', stream), text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('censors signatures, tokens, secrets, passwords and webhook URLs in objects logged whole', () => {
    const { logger, text } = capture();
    logger.info({
      headers: {
        'x-webhook-signature': 'sig-trackpilots-0123',
        'webhook-signature': 'v1,sig-standard-4567',
        authorization: 'Bearer xoxb-token-89ab',
        'content-type': 'application/json',
      },
    });
    logger.warn({ req: { headers: { 'x-webhook-signature': 'sig-in-req-cdef' } } });
    logger.error({
      destination: { token: 'xoxb-config-token', webhookUrl: 'https://hooks.slack.com/services/T/B/X' },
      source: { secrets: ['whsec_one', 'whsec_two'], secret: 'plain-secret' },
      smtp: { password: 'smtp-password' },
    });
    const logged = text();
    for (const secret of [
      'sig-trackpilots-0123',
      'sig-standard-4567',
      'xoxb-token-89ab',
      'sig-in-req-cdef',
      'xoxb-config-token',
      'hooks.slack.com',
      'whsec_one',
      'whsec_two',
      'plain-secret',
      'smtp-password',
    ]) {
      expect(logged).not.toContain(secret);
    }
    expect(logged).toContain('<secret>');
    // What is not a secret stays readable.
    expect(logged).toContain('application/json');
  });
});
