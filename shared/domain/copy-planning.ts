import { activeSinceOf, openedWhileActive, type CopyMapping, type Sizing, type SymbolRules } from './copy-mapping';
import { compare, div, type Exact, mul, sub, toNumber, ZERO } from './exact';
import type { OpenEvent } from './master-events';
import type { PositionLink } from './position-link';
import type { OrderType, Side, SymbolSpec, TradeOrder } from './trading';
import { oppositeSide } from './trading';
import { compareLots, fitVolume, floorToStep, lotsOf, subtractLots } from './volume';

/** Stable reason codes of skips; failures from the broker are `BROKER_<code>`. */
export type SkipReason =
  | 'SYMBOL_FILTERED'
  | 'SYMBOL_NOT_AT_BROKER'
  | 'VOLUME_BELOW_MIN'
  | 'NO_STOP_LOSS'
  | 'NO_TICK_VALUE'
  | 'NO_BALANCE'
  | 'SIGNAL_EXPIRED'
  | 'MAPPING_DISABLED'
  | 'MAPPING_REMOVED'
  | 'PENDING_ORDERS_NOT_COPIED'
  | 'NOT_COPIED'
  | 'ALREADY_CLOSED'
  | 'MAX_OPEN_POSITIONS'
  | 'MAX_VOLUME_PER_TRADE'
  | 'MAX_TOTAL_VOLUME'
  | 'SYMBOL_NOT_ALLOWED'
  | 'OUTSIDE_TRADING_HOURS'
  | 'PROTECTION_BREACHED'
  | 'OPENED_BEFORE_MAPPING'
  | 'ALREADY_COPIED'
  | 'SIGNAL_MISMATCH'
  | 'COPY_LOOP';

export type Skip = { kind: 'skip'; reason: SkipReason; detail?: string };
const skip = (reason: SkipReason, detail?: string): Skip => ({ kind: 'skip', reason, detail });

/** Applies include/exclude and renaming: the slave symbol, or why the trade is not copied. */
export const resolveSlaveSymbol = (masterSymbol: string, rules: SymbolRules | undefined): { kind: 'symbol'; slaveSymbol: string } | Skip => {
  if (rules?.include && rules.include.length > 0 && !rules.include.includes(masterSymbol)) {
    return skip('SYMBOL_FILTERED', `${masterSymbol} is not in the include list`);
  }
  if (rules?.exclude?.includes(masterSymbol)) return skip('SYMBOL_FILTERED', `${masterSymbol} is excluded`);
  return { kind: 'symbol', slaveSymbol: rules?.map?.[masterSymbol] ?? masterSymbol };
};

export interface SizingInput {
  masterVolume: number;
  masterBalance?: number;
  masterEquity?: number;
  slaveBalance?: number;
  slaveEquity?: number;
  /** Entry price and stop loss of the slave's trade, for risk sizing. */
  entryPrice?: number;
  stopLoss?: number;
  spec: SymbolSpec;
}

/** The raw (unrounded) slave volume a sizing rule asks for, in exact lots. */
export const rawSlaveVolume = (sizing: Sizing, input: SizingInput): { kind: 'volume'; volume: Exact } | Skip => {
  const masterVolume = lotsOf(input.masterVolume);
  switch (sizing.mode) {
    case 'multiplier':
      return { kind: 'volume', volume: mul(masterVolume, sizing.multiplier) };
    case 'fixedVolume':
      return { kind: 'volume', volume: lotsOf(sizing.volume) };
    case 'balanceRatio':
    case 'equityRatio': {
      const [master, slave] = sizing.mode === 'balanceRatio' ? [input.masterBalance, input.slaveBalance] : [input.masterEquity, input.slaveEquity];
      if (!master || master <= 0 || slave === undefined || slave <= 0) return skip('NO_BALANCE', `${sizing.mode} needs both accounts' funds`);
      return { kind: 'volume', volume: mul(mul(masterVolume, div(slave, master)), sizing.multiplier ?? 1) };
    }
    case 'riskPercent': {
      if (input.stopLoss === undefined || input.entryPrice === undefined) return skip('NO_STOP_LOSS');
      const { tickSize, tickValue } = input.spec;
      if (!tickValue || !(tickSize > 0)) return skip('NO_TICK_VALUE', `no tick value for ${input.spec.symbol}`);
      if (input.slaveEquity === undefined || input.slaveEquity <= 0) return skip('NO_BALANCE');
      const distance = sub(input.entryPrice, input.stopLoss);
      const lossPerLot = mul(div(compare(distance, ZERO) < 0 ? sub(ZERO, distance) : distance, tickSize), tickValue);
      if (compare(lossPerLot, ZERO) <= 0) return skip('NO_STOP_LOSS', 'stop loss at the entry price');
      return { kind: 'volume', volume: div(div(mul(input.slaveEquity, sizing.percent), 100), lossPerLot) };
    }
  }
};

/** The slave's side of a copy. */
export type SlaveTrade = TradeOrder;

/**
 * Reverse copies the opposite trade at the same levels: a buy becomes a sell, and the
 * master's stop loss becomes the slave's take profit and vice versa (the level where the
 * master loses is where the reversed slave wins). For pending orders the trigger price is
 * kept and the order type flips so that it triggers at the same level in the opposite
 * direction: buy limit <-> sell stop, buy stop <-> sell limit.
 */
export const applyDirection = (
  trade: { side: Side; type: OrderType; stopLoss?: number; takeProfit?: number },
  mapping: Pick<CopyMapping, 'reverse' | 'copyStopLoss' | 'copyTakeProfit'>,
): { side: Side; type: OrderType; stopLoss?: number; takeProfit?: number } => {
  const reversed = mapping.reverse
    ? {
        side: oppositeSide(trade.side),
        type: trade.type === 'limit' ? ('stop' as const) : trade.type === 'stop' ? ('limit' as const) : trade.type,
        stopLoss: trade.takeProfit,
        takeProfit: trade.stopLoss,
      }
    : trade;
  return {
    side: reversed.side,
    type: reversed.type,
    stopLoss: mapping.copyStopLoss ? reversed.stopLoss : undefined,
    takeProfit: mapping.copyTakeProfit ? reversed.takeProfit : undefined,
  };
};

export interface OpenContext {
  mapping: CopyMapping;
  slaveSymbol: string;
  spec: SymbolSpec | undefined;
  slaveBalance?: number;
  slaveEquity?: number;
  /**
   * When this copy was first attempted. A signal is judged at its first attempt, so time it
   * spent waiting behind our own recovery (a retry, a claim taken over) never expires it.
   */
  firstAttemptAt: Date;
}

/** When the master's position was filled or its pending order placed, at the broker. */
export const masterOpenTime = (event: OpenEvent): string => (event.kind === 'orderPlaced' ? event.order.createdAt : event.position.openedAt);

/**
 * Whether an open is still worth copying: its age from the master's fill (broker time) to
 * the first attempt of the copy must be within `maxDelaySeconds`.
 */
export const openAge = (event: OpenEvent, firstAttemptAt: Date): number => {
  const opened = Date.parse(masterOpenTime(event));
  return (firstAttemptAt.getTime() - (Number.isNaN(opened) ? Date.parse(event.detectedAt) : opened)) / 1000;
};

/** Plans the slave's copy of a master open (market position or pending order). */
export const planOpen = (event: OpenEvent, context: OpenContext): { kind: 'trade'; trade: SlaveTrade } | Skip => {
  const { mapping, spec } = context;
  const source = event.kind === 'orderPlaced' ? event.order : event.position;
  if (!mapping.enabled) return skip('MAPPING_DISABLED');
  const openedAt = masterOpenTime(event);
  if (!openedWhileActive(mapping, openedAt)) {
    return skip('OPENED_BEFORE_MAPPING', `opened at ${openedAt}, before the mapping copied from ${activeSinceOf(mapping)}`);
  }
  if (event.kind === 'orderPlaced' && !mapping.copyPendingOrders) return skip('PENDING_ORDERS_NOT_COPIED');
  const ageSeconds = openAge(event, context.firstAttemptAt);
  if (ageSeconds > mapping.maxDelaySeconds) return skip('SIGNAL_EXPIRED', `opened ${Math.round(ageSeconds)} s before the first attempt to copy it`);
  if (!spec) return skip('SYMBOL_NOT_AT_BROKER', `${context.slaveSymbol} is not offered by the slave's broker`);

  const type: OrderType = event.kind === 'orderPlaced' ? event.order.type : 'market';
  const entryPrice = event.kind === 'orderPlaced' ? event.order.price : event.position.openPrice;
  const direction = applyDirection({ side: source.side, type, stopLoss: source.stopLoss, takeProfit: source.takeProfit }, mapping);
  const raw = rawSlaveVolume(mapping.sizing, {
    masterVolume: source.volume,
    masterBalance: event.masterBalance,
    masterEquity: event.masterEquity,
    slaveBalance: context.slaveBalance,
    slaveEquity: context.slaveEquity,
    entryPrice,
    // Risk is measured on the slave's own stop; without a copied stop there is no risk basis.
    stopLoss: direction.stopLoss,
    spec,
  });
  if (raw.kind === 'skip') return raw;
  const fitted = fitVolume(raw.volume, spec, { maxVolume: mapping.maxVolume, minVolume: mapping.minVolume });
  if (!fitted.ok) return skip(fitted.reason, `computed ${toNumber(raw.volume)} lots, minimum ${Math.max(spec.volumeMin, mapping.minVolume ?? 0)}`);
  return {
    kind: 'trade',
    trade: {
      symbol: context.slaveSymbol,
      side: direction.side,
      type: direction.type,
      volume: fitted.volume,
      price: type === 'market' ? undefined : entryPrice,
      stopLoss: direction.stopLoss,
      takeProfit: direction.takeProfit,
    },
  };
};

/**
 * The slave volume to close when the master closes part of a position: the same fraction
 * of the slave's position, rounded down to the step. When what would remain falls under
 * the minimum, the whole position is closed rather than leaving an untradeable rest.
 */
export const planPartialClose = (
  link: Pick<PositionLink, 'slaveVolume'>,
  masterVolumeBefore: number,
  masterVolumeAfter: number,
  spec: Pick<SymbolSpec, 'volumeMin' | 'volumeStep'>,
): { kind: 'close'; volume: number; full: boolean } | Skip => {
  // What the master had, in lots: a volume that rounds to nothing at 10^-8 lot is nothing to take a share of.
  if (!(masterVolumeBefore > 0) || compareLots(masterVolumeBefore, 0) <= 0) return skip('NOT_COPIED');
  const slave = lotsOf(link.slaveVolume);
  // The slave keeps the step-rounded share of what the master keeps.
  const remaining = floorToStep(div(mul(slave, lotsOf(masterVolumeAfter)), lotsOf(masterVolumeBefore)), spec.volumeStep);
  if (compareLots(remaining, spec.volumeMin) < 0) return { kind: 'close', volume: link.slaveVolume, full: true };
  const volume = floorToStep(sub(slave, lotsOf(remaining)), spec.volumeStep);
  if (volume <= 0) return skip('VOLUME_BELOW_MIN', 'the share to close rounds to zero');
  // A broker refuses a deal under the minimum: a smaller share is raised to it (less exposure, not more).
  const closing = compareLots(volume, spec.volumeMin) < 0 ? spec.volumeMin : volume;
  if (compareLots(subtractLots(link.slaveVolume, closing), spec.volumeMin) < 0) return { kind: 'close', volume: link.slaveVolume, full: true };
  return { kind: 'close', volume: closing, full: false };
};
