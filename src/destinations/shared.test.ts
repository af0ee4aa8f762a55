import { describe, expect, it } from 'vitest';
import { classifyHttpStatus, createRedactor, parseRetryAfterMs, urlSecrets } from './shared.js';

describe('parseRetryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it.each([
    ['7', 7000],
    ['0', 0],
    ['1.25', 1250],
    [' 3 ', 3000],
    [new Date(now + 90_000).toUTCString(), 90_000],
    [new Date(now - 90_000).toUTCString(), 0],
  ])('reads %j', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });

  it.each([null, undefined, '', 'soon', '-5'])('ignores %j', (value) => {
    expect(parseRetryAfterMs(value, now)).toBeUndefined();
  });
});

describe('createRedactor', () => {
  it('replaces secrets, their URL-encoded forms and credential parts of URLs', () => {
    const url = 'https://hooks.example.com/services/T000/B000/abcdefghijklmnopqrstuvwx?key=s3cr3t+value';
    const redact = createRedactor([...urlSecrets(url), 'tok/en+secret', 'abc']);
    expect(redact(`failed ${url}`)).toBe('failed <secret>');
    expect(redact('path abcdefghijklmnopqrstuvwx seen')).toBe('path <secret> seen');
    expect(redact(`sent ${encodeURIComponent('tok/en+secret')} and tok/en+secret`)).toBe(
      'sent <secret> and <secret>',
    );
    // Too short to redact without wrecking the text.
    expect(redact('abc')).toBe('abc');
  });
});

describe('classifyHttpStatus', () => {
  it('treats 2xx as success and never follows 3xx', () => {
    expect(classifyHttpStatus(204, undefined, 'x')).toBeUndefined();
    expect(classifyHttpStatus(308, undefined, 'x')).toMatchObject({
      outcome: 'broken',
      reason: 'clientError',
    });
  });
});
