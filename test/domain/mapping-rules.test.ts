import { describe, expect, it } from 'vitest';
import { magicAllowed } from '../../shared/domain/copy-mapping';
import { planOpen, type OpenContext } from '../../shared/domain/copy-planning';
import type { OpenEvent } from '../../shared/domain/master-events';
import type { Position, SymbolSpec } from '../../shared/domain/trading';
import { aMapping, anOrder, aPosition, eurusdSpec, T0 } from '../support/fixtures';

const now = new Date(Date.parse(T0) + 2_000);

const opened = (position: Partial<Position> = {}): OpenEvent => {
  const tracked = aPosition({ volume: 0.1, openPrice: 1.1, stopLoss: 1.095, takeProfit: 1.11, ...position });
  return {
    id: `positionOpened:${tracked.id}:0`,
    kind: 'positionOpened',
    tenantId: 'tenant-a',
    masterAccountId: 'master-1',
    detectedAt: T0,
    position: { ...tracked, rev: 0, detectedAt: T0 },
  };
};

const context = (mapping: Parameters<typeof aMapping>[0] = {}, more: Partial<OpenContext> = {}, spec: Partial<SymbolSpec> = {}): OpenContext => ({
  mapping: aMapping(mapping),
  slaveSymbol: 'EURUSD',
  spec: eurusdSpec(spec),
  firstAttemptAt: now,
  ...more,
});

const outcome = (result: ReturnType<typeof planOpen>): string => (result.kind === 'skip' ? result.reason : `${result.trade.side} ${result.trade.volume}`);

describe('mapping rules at their boundaries', () => {
  it('copies only the sides the mapping allows (the master side, before reverse)', () => {
    expect(outcome(planOpen(opened({ side: 'buy' }), context({ allowedSides: 'buy' })))).toBe('buy 0.1');
    expect(outcome(planOpen(opened({ side: 'sell', stopLoss: 1.105, takeProfit: 1.09 }), context({ allowedSides: 'buy' })))).toBe('SIDE_FILTERED');
    expect(outcome(planOpen(opened({ side: 'buy' }), context({ allowedSides: 'sell', reverse: true })))).toBe('SIDE_FILTERED');
    expect(outcome(planOpen(opened({ side: 'buy' }), context({ allowedSides: 'both' })))).toBe('buy 0.1');
    expect(outcome(planOpen(opened({ side: 'buy' }), context({})))).toBe('buy 0.1');
  });

  it('opens nothing in closeOnly mode, whatever else the mapping says', () => {
    expect(planOpen(opened(), context({ mode: 'closeOnly' }))).toMatchObject({ kind: 'skip', reason: 'CLOSE_ONLY' });
    const pending: OpenEvent = {
      id: 'orderPlaced:o-1:0',
      kind: 'orderPlaced',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      order: { ...anOrder(), rev: 0, detectedAt: T0 },
    };
    expect(planOpen(pending, context({ mode: 'closeOnly' }))).toMatchObject({ kind: 'skip', reason: 'CLOSE_ONLY' });
    expect(outcome(planOpen(opened(), context({ mode: 'copy' })))).toBe('buy 0.1');
  });

  it("applies a symbol's override: its multiplier on the sizing, the lower of the two caps, its own reverse", () => {
    const gold = { symbolOverrides: { EURUSD: { multiplier: 3 } } };
    expect(outcome(planOpen(opened(), context({ ...gold, sizing: { mode: 'multiplier', multiplier: 2 } })))).toBe('buy 0.6');
    expect(outcome(planOpen(opened(), context({ symbolOverrides: { GBPUSD: { multiplier: 3 } } })))).toBe('buy 0.1');
    expect(outcome(planOpen(opened(), context({ ...gold, maxVolume: 0.25 })))).toBe('buy 0.25');
    expect(outcome(planOpen(opened(), context({ symbolOverrides: { EURUSD: { multiplier: 3, maxVolume: 0.2 } }, maxVolume: 0.25 })))).toBe('buy 0.2');
    const reversed = planOpen(opened(), context({ symbolOverrides: { EURUSD: { reverse: true } } }));
    expect(reversed).toMatchObject({ kind: 'trade', trade: { side: 'sell', stopLoss: 1.11, takeProfit: 1.095 } });
    expect(outcome(planOpen(opened(), context({ reverse: true, symbolOverrides: { EURUSD: { reverse: false } } })))).toBe('buy 0.1');
  });

  it('skips a market open whose slave price is further from the master fill than allowed, and not at the limit', () => {
    // Master bought at 1.10000; 5 pips is 0.00050. The slave buys at the ask.
    const at = (ask: number) => planOpen(opened(), context({ maxPriceDeviationPips: 5 }, { slaveQuote: { bid: ask - 0.0001, ask } }));
    expect(outcome(at(1.1005))).toBe('buy 0.1');
    expect(outcome(at(1.0995 + 0.0001))).toBe('buy 0.1');
    expect(at(1.10051)).toMatchObject({ kind: 'skip', reason: 'PRICE_DEVIATION', detail: expect.stringContaining('5.1 pips') });
    // A reversed copy sells at the bid, compared with the master's buy.
    const reversed = planOpen(opened(), context({ maxPriceDeviationPips: 5, reverse: true }, { slaveQuote: { bid: 1.0994, ask: 1.0995 } }));
    expect(reversed).toMatchObject({ kind: 'skip', reason: 'PRICE_DEVIATION' });
    expect(planOpen(opened(), context({ maxPriceDeviationPips: 5 }))).toMatchObject({ kind: 'skip', reason: 'PRICE_DEVIATION' });
    // USDJPY quotes 3 digits: a pip is 0.01.
    const yen = planOpen(
      opened({ symbol: 'USDJPY', openPrice: 150, stopLoss: 149.5, takeProfit: 151 }),
      context(
        { maxPriceDeviationPips: 2 },
        { slaveSymbol: 'USDJPY', slaveQuote: { bid: 150.01, ask: 150.02 } },
        { symbol: 'USDJPY', digits: 3, tickSize: 0.001 },
      ),
    );
    expect(outcome(yen)).toBe('buy 0.1');
  });

  it('skips an open whose stop loss is wider than allowed, or missing, and takes one at the limit', () => {
    expect(outcome(planOpen(opened({ stopLoss: 1.095 }), context({ maxStopLossPips: 50 })))).toBe('buy 0.1');
    expect(planOpen(opened({ stopLoss: 1.09499 }), context({ maxStopLossPips: 50 }))).toMatchObject({
      kind: 'skip',
      reason: 'STOP_LOSS_TOO_WIDE',
      detail: expect.stringContaining('50.1 pips'),
    });
    expect(planOpen(opened({ stopLoss: undefined }), context({ maxStopLossPips: 50 }))).toMatchObject({ kind: 'skip', reason: 'STOP_LOSS_TOO_WIDE' });
    // Without copying the stop loss the slave has none.
    expect(planOpen(opened(), context({ maxStopLossPips: 500, copyStopLoss: false }))).toMatchObject({ kind: 'skip', reason: 'STOP_LOSS_TOO_WIDE' });
  });

  it("skips an open that would lose more than the allowed share of the slave's equity at its stop, and takes one at the limit", () => {
    // 0.1 lot, 50 pips = 500 ticks of 1 USD a lot: 50 USD; 1 % of 5,000 USD.
    const risk = (equity: number, percent: number) =>
      planOpen(opened(), context({ maxTradeRiskPercent: percent }, { slaveEquity: equity, slaveBalance: equity }));
    expect(outcome(risk(5_000, 1))).toBe('buy 0.1');
    expect(risk(4_999, 1)).toMatchObject({ kind: 'skip', reason: 'TRADE_RISK_TOO_HIGH' });
    expect(planOpen(opened({ stopLoss: undefined }), context({ maxTradeRiskPercent: 5 }, { slaveEquity: 10_000 }))).toMatchObject({
      kind: 'skip',
      reason: 'TRADE_RISK_TOO_HIGH',
    });
    expect(planOpen(opened(), context({ maxTradeRiskPercent: 5 }))).toMatchObject({ kind: 'skip', reason: 'NO_BALANCE' });
    expect(planOpen(opened(), context({ maxTradeRiskPercent: 5 }, { slaveEquity: 10_000 }, { tickValue: undefined }))).toMatchObject({
      kind: 'skip',
      reason: 'NO_TICK_VALUE',
    });
    // The risk is that of the volume the slave would trade (here doubled).
    expect(planOpen(opened(), context({ maxTradeRiskPercent: 1, sizing: { mode: 'multiplier', multiplier: 2 } }, { slaveEquity: 5_000 }))).toMatchObject({
      kind: 'skip',
      reason: 'TRADE_RISK_TOO_HIGH',
    });
  });

  it('copies the magic numbers the mapping includes, ranges inclusive, and none it excludes; a trade by hand is magic 0', () => {
    const rules = { include: [7, '100-199'], exclude: ['150-150'] };
    expect([undefined, 0, 7, 8, 99, 100, 149, 150, 151, 199, 200].map((magic) => magicAllowed(magic, rules))).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
      true,
      false,
      true,
      true,
      false,
    ]);
    expect(magicAllowed(undefined, { exclude: [0] })).toBe(false);
    expect(magicAllowed(12, { exclude: [0] })).toBe(true);
    expect(magicAllowed(12, { include: [] })).toBe(true);
    expect(magicAllowed(12, undefined)).toBe(true);
    expect(planOpen(opened({ magic: 42 }), context({ magic: { include: ['1-41'] } }))).toMatchObject({
      kind: 'skip',
      reason: 'MAGIC_FILTERED',
      detail: 'magic number 42 is not copied',
    });
    expect(outcome(planOpen(opened({ magic: 41 }), context({ magic: { include: ['1-41'] } })))).toBe('buy 0.1');
  });
});
