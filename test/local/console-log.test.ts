import { describe, expect, it } from 'vitest';
import { warningsOncePerChange } from '../../local/console-log';
import type { Log } from '../../shared/ports/log';

type Line = { level: string; message: string; attributes?: Record<string, unknown> };

const recordingLog = (lines: Line[]): Log => ({
  debug: (message, attributes) => lines.push({ level: 'debug', message, attributes }),
  info: (message, attributes) => lines.push({ level: 'info', message, attributes }),
  warn: (message, attributes) => lines.push({ level: 'warn', message, attributes }),
  error: (message, attributes) => lines.push({ level: 'error', message, attributes }),
});

/** A log under test on a clock the test moves, and what reached the log beneath it. */
const setUp = () => {
  const lines: Line[] = [];
  let clock = 0;
  const log = warningsOncePerChange(recordingLog(lines), { now: () => clock });
  /** A warning at `ms` on the test's clock. */
  const warnAt = (ms: number, message: string, attributes?: Record<string, unknown>) => {
    clock = ms;
    log.warn(message, attributes);
  };
  return { log, lines, warnAt };
};

const unreachable = (accountId: string, code = 'NOT_CONFIGURED') => ({ tenantId: 'me', accountId, code });

describe('warnings once per change', () => {
  it('writes a warning that repeats on every sync pass once', () => {
    const { lines, warnAt } = setUp();
    for (let at = 0; at <= 60_000; at += 5_000) warnAt(at, 'account unreachable', unreachable('acc_1'));
    expect(lines).toEqual([{ level: 'warn', message: 'account unreachable', attributes: unreachable('acc_1') }]);
  });

  it('writes it again when its content changes, and again when the content changes back', () => {
    const { lines, warnAt } = setUp();
    warnAt(0, 'account unreachable', unreachable('acc_1'));
    warnAt(5_000, 'account unreachable', unreachable('acc_1'));
    warnAt(10_000, 'account unreachable', unreachable('acc_1', 'TIMEOUT'));
    warnAt(15_000, 'account unreachable', unreachable('acc_1', 'TIMEOUT'));
    warnAt(20_000, 'account unreachable', unreachable('acc_1'));
    expect(lines.map((line) => line.attributes?.code)).toEqual(['NOT_CONFIGURED', 'TIMEOUT', 'NOT_CONFIGURED']);
  });

  it('writes it again when it stopped for a pass and came back', () => {
    const { lines, warnAt } = setUp();
    for (const at of [0, 5_000, 10_000, 15_000]) warnAt(at, 'account unreachable', unreachable('acc_1'));
    // The pass at 20 s synced the account; the one at 25 s could not.
    for (const at of [25_000, 30_000, 35_000]) warnAt(at, 'account unreachable', unreachable('acc_1'));
    expect(lines.map((line) => line.message)).toEqual(['account unreachable', 'account unreachable']);
  });

  it('keeps a pass that came a little late (jitter) as the same run', () => {
    const { lines, warnAt } = setUp();
    for (const at of [0, 5_000, 11_000, 16_500, 21_600]) warnAt(at, 'account unreachable', unreachable('acc_1'));
    expect(lines).toHaveLength(1);
  });

  it('writes a warning repeated long after its only occurrence again', () => {
    const { lines, warnAt } = setUp();
    warnAt(0, 'account unreachable', unreachable('acc_1'));
    warnAt(3_600_000, 'account unreachable', unreachable('acc_1'));
    expect(lines).toHaveLength(2);
  });

  it("tells one account's warning from another's, and one message from another", () => {
    const { lines, warnAt } = setUp();
    for (const at of [0, 5_000, 10_000]) {
      warnAt(at, 'account unreachable', unreachable('acc_1'));
      warnAt(at, 'account unreachable', unreachable('acc_2'));
      warnAt(at, 'equity point not kept', { accountId: 'acc_1' });
    }
    expect(lines.map((line) => `${line.message} ${String(line.attributes?.accountId)}`)).toEqual([
      'account unreachable acc_1',
      'account unreachable acc_2',
      'equity point not kept acc_1',
    ]);
  });

  it('tells errors apart by their message, though JSON alone writes every error as {}', () => {
    const { lines, warnAt } = setUp();
    warnAt(0, 'push sync failed', { accountId: 'acc_1', error: new Error('connection reset') });
    warnAt(1_000, 'push sync failed', { accountId: 'acc_1', error: new Error('connection reset') });
    warnAt(2_000, 'push sync failed', { accountId: 'acc_1', error: new Error('table not found') });
    expect(lines.map((line) => (line.attributes?.error as Error | undefined)?.message)).toEqual(['connection reset', 'table not found']);
  });

  it('passes debug, info and error lines through, every one', () => {
    const { log, lines } = setUp();
    for (let i = 0; i < 3; i += 1) {
      log.debug('d', { accountId: 'a' });
      log.info('i', { accountId: 'a' });
      log.error('e', { accountId: 'a' });
    }
    expect(lines).toHaveLength(9);
  });
});
