import { describe, expect, it } from 'vitest';
import {
  ALAN,
  appItem,
  compileTestRules,
  HOUR,
  MINUTE,
  REFERENCE_TIME,
  screenshotItem,
} from './testdata/items.js';
import { run } from './testdata/run.js';

/*
 * Alert ids are what receivers deduplicate on and what the outbox stores once: a change of version must
 * not give an existing rule's alerts new ids. These are the ids of one alert of each kind, written down
 * once (with the code before issue 9, whose ids are the same); a refactor or a new feature that changes
 * one of them breaks this test.
 */

const APP = 'desktop.app_tracking.captured';
const SHOT = 'desktop.screenshot_tracking.captured';

describe('alert ids of existing rules', () => {
  it('stay what they were', () => {
    const rules = compileTestRules([
      { name: 'steam', on: APP, if: { 'app.name': 'Steam' }, cooldown: '10m', resolve: true, to: ['d'] },
      {
        name: 'idle',
        on: SHOT,
        if: { 'screenshot.isIdle': true },
        threshold: { window: '30m', count: 2, resolve: true, repeat: '5m' },
        to: ['d'],
      },
      {
        name: 'low',
        on: APP,
        if: { 'app.productivityStatus': 'productive' },
        threshold: { window: '30m', ratio: 'time.durationInSeconds', lt: 0.5, minCount: 2, lateness: '1m' },
        to: ['d'],
      },
      { name: 'quiet', absent: { on: APP, for: '20m' }, to: ['d'] },
      { name: 'hourly', on: SHOT, digest: { every: '1h' }, to: ['d'] },
    ]);
    const result = run(
      rules,
      [
        { tick: REFERENCE_TIME },
        { item: appItem({ t: 0, id: 'a0', app: 'Steam', status: 'neutral' }) },
        { item: appItem({ t: MINUTE, id: 'a1', status: 'neutral' }) },
        { item: appItem({ t: 3 * MINUTE, id: 'a2', user: ALAN }) },
        { item: screenshotItem({ t: 0, id: 's0' }) },
        { item: screenshotItem({ t: 6 * MINUTE, id: 's1' }) },
        { item: screenshotItem({ t: 12 * MINUTE, id: 's2' }) },
        { item: screenshotItem({ t: 50 * MINUTE, id: 's3', idle: false }) },
        { tick: REFERENCE_TIME + 30 * MINUTE },
        { tick: REFERENCE_TIME + HOUR },
      ],
      { settle: true },
    );
    // Written down from the code before issue 9; the order is when each was decided.
    expect(
      result.firings.map((f) => `${f.alert.rule} ${f.alert.status} ${f.alert.key} ${f.alert.id}`),
    ).toEqual([
      'steam firing u-ada 2c8eae2af01005eddec83ed652239110',
      'steam resolved u-ada 7bd7edee4e7cbae5460036a1aa006ffb',
      'idle firing u-ada 2d366b270ef09ddc5c5ec029cb352013',
      'idle firing u-ada 438d61158638d9908a9edaa8631a1ee7',
      'low firing u-ada 00cf31d99acfbc00dbd9bde13cfa3695',
      'quiet firing u-ada 8cbad4a2baa73896ecc03ce86147f42c',
      'quiet firing u-alan 62b126c149894f1f68cd64b53740d019',
      'hourly firing u-ada 026010dc5c8a2128410be69475a93f40',
      'idle resolved u-ada 0f7615f864a9c3987402e84131015abb',
    ]);
  });
});
