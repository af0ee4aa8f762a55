import { describe, expect, it } from 'vitest';
import {
  escapeBidiInJson,
  escapeDiscordMarkdown,
  escapeHtml,
  escapeSlackMrkdwn,
  neutraliseBidi,
  singleLine,
} from './escape.js';

describe('escapeSlackMrkdwn', () => {
  it.each([
    ['<!channel> ping', '&lt;!channel&gt; ping'],
    ['<!here|here> <!everyone>', '&lt;!here|here&gt; &lt;!everyone&gt;'],
    ['<@U123> and <#C123>', '&lt;@U123&gt; and &lt;#C123&gt;'],
    ['<https://evil.example|click>', '&lt;https://evil.example|click&gt;'],
    ['a & b', 'a &amp; b'],
    ['already &amp; escaped', 'already &amp;amp; escaped'],
    ['*bold* _it_ ~s~ `code`', '*bold* _it_ ~s~ `code`'],
    ['"quotes" \'single\'', '"quotes" \'single\''],
  ])('%s', (input, expected) => {
    expect(escapeSlackMrkdwn(input)).toBe(expected);
  });
});

describe('escapeDiscordMarkdown', () => {
  it('makes @everyone and @here inert with a zero-width space', () => {
    expect(escapeDiscordMarkdown('@everyone and @here, @Everyone')).toBe(
      '@\u200beveryone and @\u200bhere, @\u200bEveryone',
    );
  });

  it.each([
    ['<@123456789012345678>', '\\<@123456789012345678\\>'],
    ['<@&987654321098765432>', '\\<@&987654321098765432\\>'],
    ['<#123>', '\\<#123\\>'],
    ['[click](https://evil.example)', '\\[click\\](https://evil.example)'],
    ['**bold** __u__ ~~s~~ ||spoiler||', '\\*\\*bold\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|spoiler\\|\\|'],
    ['```code```', '\\`\\`\\`code\\`\\`\\`'],
    ['> quote', '\\> quote'],
    ['# heading\n- item\n-# subtext', '\\# heading\n\\- item\n\\-# subtext'],
    ['a-b #1', 'a-b #1'],
    ['back\\slash', 'back\\\\slash'],
  ])('%j', (input, expected) => {
    expect(escapeDiscordMarkdown(input)).toBe(expected);
  });
});

describe('escapeHtml', () => {
  it('escapes markup and attribute quotes', () => {
    expect(escapeHtml('<script>alert("x")</script> & \'y\'')).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
  });
});

describe('singleLine', () => {
  it('replaces CR, LF and control characters with one space', () => {
    expect(singleLine('a\r\nBcc: x\u0000\u001b[31m\u2028b')).toBe('a Bcc: x [31m b');
  });
});

describe('neutraliseBidi', () => {
  it.each([
    ['\u202Efdp.exe', 'fdp.exe'],
    ['a\u202Ab\u202Bc\u202Cd\u202De', 'abcde'],
    ['\u2066x\u2067y\u2068z\u2069', 'xyz'],
    ['mark\u200E\u200F\u061C', 'mark'],
    ['שלום and عربي stay', 'שלום and عربي stay'],
    ['zero\u200bwidth space stays', 'zero\u200bwidth space stays'],
  ])('%j → %j', (input, expected) => {
    expect(neutraliseBidi(input)).toBe(expected);
  });
});

describe('escapeBidiInJson', () => {
  it('writes each control as a \\u escape, so the JSON holds none raw and parses back to the same data', () => {
    const json = JSON.stringify({ name: 'a\u202Eb\u2066c\u061C' });
    const escaped = escapeBidiInJson(json);
    expect(escaped).toBe('{"name":"a\\u202eb\\u2066c\\u061c"}');
    expect(JSON.parse(escaped)).toEqual(JSON.parse(json));
  });
});
