import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDirection, planAddOn, planOpen, planPartialClose, rawSlaveVolume, resolveSlaveSymbol, type SizingInput } from '../../shared/domain/copy-planning';
import { toNumber } from '../../shared/domain/exact';
import type { EventOf, OpenEvent } from '../../shared/domain/master-events';
import { aMapping, anOrder, aPosition, eurusdSpec, T0 } from '../support/fixtures';

const input = (overrides: Partial<SizingInput> = {}): SizingInput => ({ masterVolume: 0.5, spec: eurusdSpec(), ...overrides });

const volumeOf = (result: ReturnType<typeof rawSlaveVolume>): number => {
  if (result.kind !== 'volume') throw new Error(`expected a volume, got skip ${result.reason}`);
  return toNumber(result.volume);
};

describe('rawSlaveVolume', () => {
  it('multiplies the master volume in multiplier mode', () => {
    expect(volumeOf(rawSlaveVolume({ mode: 'multiplier', multiplier: 2.5 }, input({ masterVolume: 0.4 })))).toBeCloseTo(1, 12);
  });

  describe('notional mode', () => {
    const oandaSpec = { ...eurusdSpec(), symbol: 'EUR_USD', contractSize: 1, volumeMin: 1, volumeStep: 1, volumeMax: 100_000_000 };
    it("turns the master's lots into the slave's units through both contract sizes", () => {
      expect(volumeOf(rawSlaveVolume({ mode: 'notional' }, input({ masterVolume: 0.1, masterContractSize: 100_000, spec: oandaSpec })))).toBe(10_000);
      expect(volumeOf(rawSlaveVolume({ mode: 'notional', multiplier: 1.5 }, input({ masterVolume: 0.07, masterContractSize: 100_000, spec: oandaSpec })))).toBe(
        10_500,
      );
    });
    it("turns units into lots the other way, and gold's 100-ounce lot into ounces", () => {
      expect(volumeOf(rawSlaveVolume({ mode: 'notional' }, input({ masterVolume: 12_345, masterContractSize: 1, spec: eurusdSpec() })))).toBe(0.12345);
      const goldLots = { ...eurusdSpec(), symbol: 'XAUUSD', contractSize: 100 };
      expect(volumeOf(rawSlaveVolume({ mode: 'notional' }, input({ masterVolume: 250, masterContractSize: 1, spec: goldLots })))).toBe(2.5);
    });
    it('is exact where floats are not: 0.3 lots of 100,000 is 30,000 units, not 29,999.999...', () => {
      expect(volumeOf(rawSlaveVolume({ mode: 'notional' }, input({ masterVolume: 0.3, masterContractSize: 100_000, spec: oandaSpec })))).toBe(30_000);
    });
    it("skips NO_CONTRACT_SIZE without the master's contract size", () => {
      expect(rawSlaveVolume({ mode: 'notional' }, input({ spec: oandaSpec }))).toMatchObject({ kind: 'skip', reason: 'NO_CONTRACT_SIZE' });
      expect(rawSlaveVolume({ mode: 'notional' }, input({ masterContractSize: 0, spec: oandaSpec }))).toMatchObject({
        kind: 'skip',
        reason: 'NO_CONTRACT_SIZE',
      });
    });
  });

  it('ignores the master volume in fixedVolume mode', () => {
    expect(volumeOf(rawSlaveVolume({ mode: 'fixedVolume', volume: 0.07 }, input({ masterVolume: 3 })))).toBe(0.07);
  });

  it('scales by slave balance over master balance in balanceRatio mode', () => {
    const sizing = { mode: 'balanceRatio' as const };
    expect(volumeOf(rawSlaveVolume(sizing, input({ masterVolume: 1, masterBalance: 10_000, slaveBalance: 2_500 })))).toBeCloseTo(0.25, 12);
    expect(volumeOf(rawSlaveVolume({ ...sizing, multiplier: 2 }, input({ masterVolume: 1, masterBalance: 10_000, slaveBalance: 2_500 })))).toBeCloseTo(0.5, 12);
  });

  it('uses equity, not balance, in equityRatio mode', () => {
    const result = rawSlaveVolume(
      { mode: 'equityRatio' },
      input({ masterVolume: 1, masterBalance: 10_000, slaveBalance: 10_000, masterEquity: 8_000, slaveEquity: 2_000 }),
    );
    expect(volumeOf(result)).toBeCloseTo(0.25, 12);
  });

  it.each([
    ['the master balance is missing', { slaveBalance: 1000 }],
    ['the slave balance is missing', { masterBalance: 1000 }],
    ['the master balance is zero', { masterBalance: 0, slaveBalance: 1000 }],
    ['the slave balance is negative', { masterBalance: 1000, slaveBalance: -5 }],
  ])('skips balanceRatio with NO_BALANCE when %s', (_case, funds) => {
    expect(rawSlaveVolume({ mode: 'balanceRatio' }, input(funds))).toMatchObject({ kind: 'skip', reason: 'NO_BALANCE' });
  });

  it('skips equityRatio with NO_BALANCE when only balances are known', () => {
    expect(rawSlaveVolume({ mode: 'equityRatio' }, input({ masterBalance: 1000, slaveBalance: 1000 }))).toMatchObject({
      kind: 'skip',
      reason: 'NO_BALANCE',
    });
  });

  describe('riskPercent', () => {
    const sizing = { mode: 'riskPercent' as const, percent: 1 };

    it('sizes so that the stop loss costs the given percent of equity', () => {
      // 1 % of 10 000 = 100; 50 pips = 500 ticks of 1 USD per lot = 500 per lot -> 0.2 lots.
      const result = rawSlaveVolume(sizing, input({ slaveEquity: 10_000, entryPrice: 1.1, stopLoss: 1.095 }));
      expect(volumeOf(result)).toBeCloseTo(0.2, 9);
    });

    it('measures the distance to a stop above the entry for sells', () => {
      const result = rawSlaveVolume(
        { mode: 'riskPercent', percent: 2 },
        input({ slaveEquity: 5_000, entryPrice: 2000, stopLoss: 2010, spec: eurusdSpec({ symbol: 'XAUUSD', tickSize: 0.01, tickValue: 1 }) }),
      );
      // 2 % of 5 000 = 100; 10 USD = 1000 ticks of 1 -> 1000 per lot -> 0.1 lots.
      expect(volumeOf(result)).toBeCloseTo(0.1, 9);
    });

    it('skips with NO_STOP_LOSS without a stop loss', () => {
      expect(rawSlaveVolume(sizing, input({ slaveEquity: 10_000, entryPrice: 1.1 }))).toMatchObject({ kind: 'skip', reason: 'NO_STOP_LOSS' });
    });

    it('skips with NO_STOP_LOSS when the stop loss sits at the entry price', () => {
      expect(rawSlaveVolume(sizing, input({ slaveEquity: 10_000, entryPrice: 1.1, stopLoss: 1.1 }))).toMatchObject({
        kind: 'skip',
        reason: 'NO_STOP_LOSS',
      });
    });

    it.each([
      ['unknown', undefined],
      ['zero', 0],
    ])('skips with NO_TICK_VALUE when the tick value is %s', (_case, tickValue) => {
      const result = rawSlaveVolume(sizing, input({ slaveEquity: 10_000, entryPrice: 1.1, stopLoss: 1.09, spec: eurusdSpec({ tickValue }) }));
      expect(result).toMatchObject({ kind: 'skip', reason: 'NO_TICK_VALUE' });
    });

    it('skips with NO_BALANCE without slave equity', () => {
      expect(rawSlaveVolume(sizing, input({ entryPrice: 1.1, stopLoss: 1.09 }))).toMatchObject({ kind: 'skip', reason: 'NO_BALANCE' });
    });
  });
});

describe('resolveSlaveSymbol', () => {
  it('keeps the master symbol without rules', () => {
    expect(resolveSlaveSymbol('EURUSD', undefined)).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD' });
  });

  it('skips a symbol missing from a non-empty include list', () => {
    expect(resolveSlaveSymbol('GBPUSD', { include: ['EURUSD'] })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_FILTERED' });
    expect(resolveSlaveSymbol('EURUSD', { include: ['EURUSD'] })).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD' });
  });

  it('treats an empty include list as no filter', () => {
    expect(resolveSlaveSymbol('GBPUSD', { include: [] })).toEqual({ kind: 'symbol', slaveSymbol: 'GBPUSD' });
  });

  it('skips an excluded symbol, also when it is included', () => {
    expect(resolveSlaveSymbol('XAUUSD', { exclude: ['XAUUSD'] })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_FILTERED' });
    expect(resolveSlaveSymbol('XAUUSD', { include: ['XAUUSD'], exclude: ['XAUUSD'] })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_FILTERED' });
  });

  it("judges include and exclude on the master's symbol, not on the name the map gives it", () => {
    expect(resolveSlaveSymbol('EURUSD', { exclude: ['EURUSD'], map: { EURUSD: 'EURUSD.m' } })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_FILTERED' });
    expect(resolveSlaveSymbol('EURUSD', { exclude: ['EURUSD.m'], map: { EURUSD: 'EURUSD.m' } })).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD.m' });
    expect(resolveSlaveSymbol('EURUSD', { include: ['EURUSD.m'], map: { EURUSD: 'EURUSD.m' } })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_FILTERED' });
  });

  it("renames through the map, matching on the master's name", () => {
    const rules = { include: ['EURUSD'], map: { EURUSD: 'EURUSD.m' } };
    expect(resolveSlaveSymbol('EURUSD', rules)).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD.m' });
    expect(resolveSlaveSymbol('GBPUSD', { map: { EURUSD: 'EURUSD.m' } })).toEqual({ kind: 'symbol', slaveSymbol: 'GBPUSD' });
  });
});

describe('planAddOn', () => {
  const spec = eurusdSpec();
  const mapping = aMapping({ sizing: { mode: 'multiplier', multiplier: 2 } });
  it("grows the copy by its own ratio to the master, rounded down to the slave's step", () => {
    // 0.10 copied as 0.20: an add-on of 0.05 is 0.10 more.
    expect(planAddOn({ slaveVolume: 0.2 }, 0.1, 0.05, { mapping, spec })).toEqual({ kind: 'volume', volume: 0.1 });
    // 0.30 copied as 0.10 (x1/3, rounded): 0.07 more is 0.0233.. -> 0.02.
    expect(planAddOn({ slaveVolume: 0.1 }, 0.3, 0.07, { mapping, spec })).toEqual({ kind: 'volume', volume: 0.02 });
    expect(planAddOn({ slaveVolume: 0.1 }, 1, 0.05, { mapping, spec })).toMatchObject({ kind: 'skip', reason: 'VOLUME_BELOW_MIN' });
  });
  it('adds no fixed volume again and takes no risk size anew: a fixed 1.00 copy of 0.10 grows by 0.50 for 0.05', () => {
    const fixed = aMapping({ sizing: { mode: 'fixedVolume', volume: 1 } });
    expect(planAddOn({ slaveVolume: 1 }, 0.1, 0.05, { mapping: fixed, spec })).toEqual({ kind: 'volume', volume: 0.5 });
  });
  it("holds the mapping's and the symbol's caps on the copy's whole volume", () => {
    const capped = aMapping({ sizing: { mode: 'multiplier', multiplier: 2 }, maxVolume: 0.25 });
    expect(planAddOn({ slaveVolume: 0.2 }, 0.1, 0.05, { mapping: capped, spec })).toEqual({ kind: 'volume', volume: 0.05 });
    expect(planAddOn({ slaveVolume: 0.25 }, 0.1, 0.05, { mapping: capped, spec })).toMatchObject({ kind: 'skip', reason: 'MAX_VOLUME_PER_TRADE' });
    const overridden = aMapping({ sizing: { mode: 'multiplier', multiplier: 2 }, symbolOverrides: { EURUSD: { maxVolume: 0.22 } } });
    expect(planAddOn({ masterSymbol: 'EURUSD', slaveVolume: 0.2 }, 0.1, 0.05, { mapping: overridden, spec })).toEqual({ kind: 'volume', volume: 0.02 });
  });
  it('adds nothing on a disabled or close-only mapping', () => {
    expect(planAddOn({ slaveVolume: 0.1 }, 0.1, 0.05, { mapping: { ...mapping, enabled: false }, spec })).toMatchObject({
      kind: 'skip',
      reason: 'MAPPING_DISABLED',
    });
    expect(planAddOn({ slaveVolume: 0.1 }, 0.1, 0.05, { mapping: { ...mapping, mode: 'closeOnly' }, spec })).toMatchObject({
      kind: 'skip',
      reason: 'CLOSE_ONLY',
    });
  });
});

describe("the slave platform's names", () => {
  it('names pairs and metals as OANDA does on an OANDA slave, and as MetaTrader does on the others', () => {
    expect(resolveSlaveSymbol('EURUSD', undefined, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'EUR_USD' });
    expect(resolveSlaveSymbol('XAUUSD', undefined, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'XAU_USD' });
    expect(resolveSlaveSymbol('EUR_USD', undefined, 'mt5')).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD' });
    expect(resolveSlaveSymbol('EUR_USD', undefined, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'EUR_USD' });
    expect(resolveSlaveSymbol('EURUSD', undefined, 'mt4')).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD' });
  });
  it('keeps names that are not a pair, and lets the mapping rename over the default', () => {
    expect(resolveSlaveSymbol('EURUSD.m', undefined, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'EURUSD.m' });
    expect(resolveSlaveSymbol('US30', undefined, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'US30' });
    expect(resolveSlaveSymbol('US30', { map: { US30: 'US30_USD' } }, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'US30_USD' });
    expect(resolveSlaveSymbol('EURUSD', { map: { EURUSD: 'EUR_USD_X' } }, 'oanda')).toEqual({ kind: 'symbol', slaveSymbol: 'EUR_USD_X' });
  });
});

describe('applyDirection', () => {
  const copyAll = { reverse: false, copyStopLoss: true, copyTakeProfit: true };

  it('copies side, type and levels as they are without reverse', () => {
    const trade = { side: 'buy' as const, type: 'market' as const, stopLoss: 1.09, takeProfit: 1.12 };
    expect(applyDirection(trade, copyAll)).toEqual(trade);
  });

  it('flips the side and swaps stop loss and take profit in reverse', () => {
    expect(applyDirection({ side: 'buy', type: 'market', stopLoss: 1.09, takeProfit: 1.12 }, { ...copyAll, reverse: true })).toEqual({
      side: 'sell',
      type: 'market',
      stopLoss: 1.12,
      takeProfit: 1.09,
    });
    expect(applyDirection({ side: 'sell', type: 'market', stopLoss: 1.12 }, { ...copyAll, reverse: true })).toEqual({
      side: 'buy',
      type: 'market',
      stopLoss: undefined,
      takeProfit: 1.12,
    });
  });

  it('turns a buy limit into a sell stop and a buy stop into a sell limit in reverse', () => {
    expect(applyDirection({ side: 'buy', type: 'limit' }, { ...copyAll, reverse: true })).toMatchObject({ side: 'sell', type: 'stop' });
    expect(applyDirection({ side: 'buy', type: 'stop' }, { ...copyAll, reverse: true })).toMatchObject({ side: 'sell', type: 'limit' });
    expect(applyDirection({ side: 'sell', type: 'limit' }, { ...copyAll, reverse: true })).toMatchObject({ side: 'buy', type: 'stop' });
  });

  it('drops the stop loss when stop losses are not copied', () => {
    expect(applyDirection({ side: 'buy', type: 'market', stopLoss: 1.09, takeProfit: 1.12 }, { ...copyAll, copyStopLoss: false })).toEqual({
      side: 'buy',
      type: 'market',
      stopLoss: undefined,
      takeProfit: 1.12,
    });
  });

  it('drops the take profit when take profits are not copied', () => {
    expect(applyDirection({ side: 'buy', type: 'market', stopLoss: 1.09, takeProfit: 1.12 }, { ...copyAll, copyTakeProfit: false })).toEqual({
      side: 'buy',
      type: 'market',
      stopLoss: 1.09,
      takeProfit: undefined,
    });
  });

  it("applies the copy flags to the slave's levels after reversing", () => {
    // Reversed, the master's take profit becomes the slave's stop loss; copyStopLoss false drops that one.
    expect(
      applyDirection({ side: 'buy', type: 'market', stopLoss: 1.09, takeProfit: 1.12 }, { reverse: true, copyStopLoss: false, copyTakeProfit: true }),
    ).toEqual({ side: 'sell', type: 'market', stopLoss: undefined, takeProfit: 1.09 });
  });
});

describe('planOpen', () => {
  const now = new Date('2024-03-04T10:00:05.000Z');
  const opened = (overrides: Partial<EventOf<'positionOpened'>> = {}, position = aPosition({ volume: 0.1, stopLoss: 1.095, takeProfit: 1.11 })): OpenEvent => ({
    id: `positionOpened:${position.id}:0`,
    kind: 'positionOpened',
    tenantId: 'tenant-a',
    masterAccountId: 'master-1',
    detectedAt: T0,
    position: { ...position, rev: 0, detectedAt: T0 },
    ...overrides,
  });
  const context = (overrides: Parameters<typeof aMapping>[0] = {}) => ({
    mapping: aMapping(overrides),
    slaveSymbol: 'EURUSD',
    spec: eurusdSpec(),
    firstAttemptAt: now,
  });

  it('copies a market position with the multiplier applied', () => {
    expect(planOpen(opened(), context({ sizing: { mode: 'multiplier', multiplier: 2 } }))).toEqual({
      kind: 'trade',
      trade: { symbol: 'EURUSD', side: 'buy', type: 'market', volume: 0.2, price: undefined, stopLoss: 1.095, takeProfit: 1.11 },
    });
  });

  it("clamps the volume to the mapping's maxVolume", () => {
    const result = planOpen(opened(), context({ sizing: { mode: 'multiplier', multiplier: 10 }, maxVolume: 0.35 }));
    expect(result).toMatchObject({ kind: 'trade', trade: { volume: 0.35 } });
  });

  it('skips a disabled mapping', () => {
    expect(planOpen(opened(), context({ enabled: false }))).toMatchObject({ kind: 'skip', reason: 'MAPPING_DISABLED' });
  });

  it('skips an open first attempted more than maxDelaySeconds after the master fill, and copies one just within it', () => {
    const late = new Date(Date.parse(T0) + 61_000);
    expect(planOpen(opened(), { ...context({ maxDelaySeconds: 60 }), firstAttemptAt: late })).toMatchObject({ kind: 'skip', reason: 'SIGNAL_EXPIRED' });
    const inTime = new Date(Date.parse(T0) + 60_000);
    expect(planOpen(opened(), { ...context({ maxDelaySeconds: 60 }), firstAttemptAt: inTime })).toMatchObject({ kind: 'trade' });
  });

  it("judges expiry from the broker's fill time, not from when the sync detected it", () => {
    // Filled at T0, detected 50 s later (a slow first sync), first attempted at T0 + 55 s: in time.
    const event = opened({ detectedAt: new Date(Date.parse(T0) + 50_000).toISOString() });
    expect(planOpen(event, { ...context({ maxDelaySeconds: 60 }), firstAttemptAt: new Date(Date.parse(T0) + 55_000) })).toMatchObject({ kind: 'trade' });
    // Filled at T0, detected at once, first attempted at T0 + 70 s: expired, however fresh the detection.
    expect(planOpen(opened(), { ...context({ maxDelaySeconds: 60 }), firstAttemptAt: new Date(Date.parse(T0) + 70_000) })).toMatchObject({
      kind: 'skip',
      reason: 'SIGNAL_EXPIRED',
    });
  });

  it('skips a master position opened before the mapping was created, and copies one opened at that moment', () => {
    const created = new Date(Date.parse(T0) + 1).toISOString();
    expect(planOpen(opened(), context({ createdAt: created, activeSince: created }))).toMatchObject({ kind: 'skip', reason: 'OPENED_BEFORE_MAPPING' });
    expect(planOpen(opened(), context({ createdAt: T0, activeSince: T0 }))).toMatchObject({ kind: 'trade' });
  });

  it('judges a re-enabled mapping from its re-enabling, not its creation', () => {
    const reEnabled = new Date(Date.parse(T0) + 1000).toISOString();
    const earlier = new Date(Date.parse(T0) - 86_400_000).toISOString();
    expect(planOpen(opened(), context({ createdAt: earlier, activeSince: reEnabled }))).toMatchObject({ kind: 'skip', reason: 'OPENED_BEFORE_MAPPING' });
    expect(planOpen(opened(), context({ createdAt: earlier, activeSince: T0 }))).toMatchObject({ kind: 'trade' });
  });

  it("skips a symbol the slave's broker does not offer", () => {
    expect(planOpen(opened(), { ...context(), spec: undefined })).toMatchObject({ kind: 'skip', reason: 'SYMBOL_NOT_AT_BROKER' });
  });

  it('skips a volume that rounds under the minimum', () => {
    const result = planOpen(opened(), context({ sizing: { mode: 'multiplier', multiplier: 0.05 } }));
    expect(result).toMatchObject({ kind: 'skip', reason: 'VOLUME_BELOW_MIN' });
  });

  it('copies a pending order with its price and type', () => {
    const order = anOrder({ side: 'sell', type: 'stop', price: 1.08, volume: 0.3, stopLoss: 1.085, takeProfit: 1.07 });
    const event: OpenEvent = {
      id: 'orderPlaced:o-1:0',
      kind: 'orderPlaced',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      order: { ...order, rev: 0, detectedAt: T0 },
    };
    expect(planOpen(event, context())).toEqual({
      kind: 'trade',
      trade: { symbol: 'EURUSD', side: 'sell', type: 'stop', volume: 0.3, price: 1.08, stopLoss: 1.085, takeProfit: 1.07 },
    });
  });

  it('reverses a pending order into the opposite type at the same price', () => {
    const event: OpenEvent = {
      id: 'orderPlaced:o-1:0',
      kind: 'orderPlaced',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      order: { ...anOrder({ side: 'buy', type: 'limit', price: 1.09 }), rev: 0, detectedAt: T0 },
    };
    expect(planOpen(event, context({ reverse: true }))).toMatchObject({ kind: 'trade', trade: { side: 'sell', type: 'stop', price: 1.09 } });
  });

  it('skips pending orders when the mapping does not copy them', () => {
    const event: OpenEvent = {
      id: 'orderPlaced:o-1:0',
      kind: 'orderPlaced',
      tenantId: 'tenant-a',
      masterAccountId: 'master-1',
      detectedAt: T0,
      order: { ...anOrder(), rev: 0, detectedAt: T0 },
    };
    expect(planOpen(event, context({ copyPendingOrders: false }))).toMatchObject({ kind: 'skip', reason: 'PENDING_ORDERS_NOT_COPIED' });
  });

  it("sizes by risk on the slave's own stop loss", () => {
    const result = planOpen(opened(), { ...context({ sizing: { mode: 'riskPercent', percent: 1 } }), slaveEquity: 10_000 });
    // Entry 1.1, stop 1.095: 500 ticks of 1 USD -> 100 USD risk buys 0.2 lots.
    expect(result).toMatchObject({ kind: 'trade', trade: { volume: 0.2 } });
  });

  it('skips risk sizing when the stop loss is not copied', () => {
    const result = planOpen(opened(), { ...context({ sizing: { mode: 'riskPercent', percent: 1 }, copyStopLoss: false }), slaveEquity: 10_000 });
    expect(result).toMatchObject({ kind: 'skip', reason: 'NO_STOP_LOSS' });
  });

  it('sizes by balance ratio from the balances the event and the slave carry', () => {
    const result = planOpen(opened({ masterBalance: 20_000 }, aPosition({ volume: 1 })), {
      ...context({ sizing: { mode: 'balanceRatio' } }),
      slaveBalance: 5_000,
    });
    expect(result).toMatchObject({ kind: 'trade', trade: { volume: 0.25 } });
  });
});

describe('planPartialClose', () => {
  const spec = { volumeMin: 0.01, volumeStep: 0.01 };

  it('closes the same share of the slave: master 1.00 -> 0.60 closes 0.20 of 0.50, leaving 0.30', () => {
    expect(planPartialClose({ slaveVolume: 0.5 }, 1, 0.6, spec)).toEqual({ kind: 'close', volume: 0.2, full: false });
  });

  it('closes everything when the remainder would fall under the minimum', () => {
    expect(planPartialClose({ slaveVolume: 0.05 }, 1, 0.1, spec)).toEqual({ kind: 'close', volume: 0.05, full: true });
    expect(planPartialClose({ slaveVolume: 0.3 }, 1, 0.1, { volumeMin: 0.1, volumeStep: 0.1 })).toEqual({ kind: 'close', volume: 0.3, full: true });
  });

  it('rounds the share the slave keeps down, so a 1 % master close still closes one step', () => {
    expect(planPartialClose({ slaveVolume: 0.1 }, 1, 0.99, spec)).toEqual({ kind: 'close', volume: 0.01, full: false });
  });

  it('closes at least the minimum volume, since a broker refuses a smaller deal', () => {
    // Master closes 1 %: 0.01 of 1.00 would be under the 0.10 minimum; the slave closes 0.10.
    expect(planPartialClose({ slaveVolume: 1 }, 1, 0.99, { volumeMin: 0.1, volumeStep: 0.01 })).toEqual({ kind: 'close', volume: 0.1, full: false });
  });

  it('closes everything when closing the minimum would leave less than the minimum', () => {
    expect(planPartialClose({ slaveVolume: 0.15 }, 1, 0.99, { volumeMin: 0.1, volumeStep: 0.01 })).toEqual({ kind: 'close', volume: 0.15, full: true });
  });

  it('skips with VOLUME_BELOW_MIN when the master volume did not decrease', () => {
    expect(planPartialClose({ slaveVolume: 0.1 }, 1, 1, spec)).toMatchObject({ kind: 'skip', reason: 'VOLUME_BELOW_MIN' });
    expect(planPartialClose({ slaveVolume: 0.1 }, 1, 1.5, spec)).toMatchObject({ kind: 'skip', reason: 'VOLUME_BELOW_MIN' });
  });

  it('skips a master position that had no volume', () => {
    expect(planPartialClose({ slaveVolume: 0.1 }, 0, 0, spec)).toMatchObject({ kind: 'skip', reason: 'NOT_COPIED' });
  });

  it('closes a multiple of the step of at least the minimum, never more than the slave holds, leaving 0 or at least the minimum', () => {
    const MILLI = 1000;
    const scenario = fc
      .record({
        stepMilli: fc.oneof(fc.constantFrom(1, 10, 100, 1000, 50), fc.integer({ min: 1, max: 500 })),
        minSteps: fc.integer({ min: 1, max: 10 }),
        slaveExtraSteps: fc.integer({ min: 0, max: 500 }),
        masterBeforeCents: fc.integer({ min: 1, max: 100_000 }),
        keptShare: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
      })
      .map(({ stepMilli, minSteps, slaveExtraSteps, masterBeforeCents, keptShare }) => ({
        stepMilli,
        spec: { volumeStep: stepMilli / MILLI, volumeMin: (stepMilli * minSteps) / MILLI },
        slaveVolume: (stepMilli * (minSteps + slaveExtraSteps)) / MILLI,
        masterBefore: masterBeforeCents / 100,
        masterAfter: Math.floor(masterBeforeCents * keptShare) / 100,
      }));
    fc.assert(
      fc.property(scenario, ({ stepMilli, spec: symbol, slaveVolume, masterBefore, masterAfter }) => {
        const plan = planPartialClose({ slaveVolume }, masterBefore, masterAfter, symbol);
        if (plan.kind === 'skip') {
          expect(plan.reason).toBe('VOLUME_BELOW_MIN');
          return;
        }
        const milli = plan.volume * MILLI;
        expect(Math.abs(milli - Math.round(milli))).toBeLessThan(1e-6);
        expect(Math.round(milli) % stepMilli).toBe(0);
        expect(plan.volume).toBeGreaterThanOrEqual(symbol.volumeMin - 1e-9);
        expect(plan.volume).toBeLessThanOrEqual(slaveVolume + 1e-9);
        const remaining = slaveVolume - plan.volume;
        if (plan.full) expect(Math.abs(remaining)).toBeLessThan(1e-9);
        else expect(remaining).toBeGreaterThanOrEqual(symbol.volumeMin - 1e-9);
        // The slave never keeps a larger share of its position than the master kept.
        expect(remaining).toBeLessThanOrEqual((slaveVolume * masterAfter) / masterBefore + 1e-9);
      }),
      { numRuns: 2000 },
    );
  });
});
