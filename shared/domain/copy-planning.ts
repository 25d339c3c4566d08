import { activeSinceOf, magicAllowed, openedWhileActive, type CopyMapping, type Sizing, type SymbolRules } from './copy-mapping';
import { compare, div, type Exact, mul, sub, toNumber, ZERO } from './exact';
import type { OpenEvent } from './master-events';
import type { PositionLink } from './position-link';
import type { OrderType, Side, SymbolSpec, TradeOrder } from './trading';
import { oppositeSide } from './trading';
import { compareLots, fitVolume, floorToStep, lotsOf, subtractLots } from './volume';
import { pipSize } from './pips';

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
  | 'COPY_LOOP'
  | 'CLOSE_ONLY'
  | 'SIDE_FILTERED'
  | 'PRICE_DEVIATION'
  | 'STOP_LOSS_TOO_WIDE'
  | 'TRADE_RISK_TOO_HIGH'
  | 'MAGIC_FILTERED'
  | 'NO_CONTRACT_SIZE'
  | 'SHARED_TRADE';

export type Skip = { kind: 'skip'; reason: SkipReason; detail?: string };
const skip = (reason: SkipReason, detail?: string): Skip => ({ kind: 'skip', reason, detail });

/**
 * The name a symbol has on the slave's platform when the mapping does not rename it: OANDA
 * writes pairs and metals `EUR_USD`, MetaTrader `EURUSD`. Any other name is kept as it is.
 */
export const platformSymbol = (symbol: string, slavePlatform: string | undefined): string => {
  if (slavePlatform === 'oanda') {
    const pair = /^([A-Z]{3})([A-Z]{3})$/.exec(symbol);
    return pair ? `${pair[1]}_${pair[2]}` : symbol;
  }
  if (slavePlatform === undefined) return symbol;
  const pair = /^([A-Z]{3})_([A-Z]{3})$/.exec(symbol);
  return pair ? `${pair[1]}${pair[2]}` : symbol;
};

/**
 * Applies include/exclude and renaming: the slave symbol, or why the trade is not copied. The
 * lists and the map name master symbols; a symbol the map does not rename gets the slave
 * platform's name for it (`EURUSD` <-> `EUR_USD` between MetaTrader and OANDA).
 */
export const resolveSlaveSymbol = (
  masterSymbol: string,
  rules: SymbolRules | undefined,
  slavePlatform?: string,
): { kind: 'symbol'; slaveSymbol: string } | Skip => {
  if (rules?.include && rules.include.length > 0 && !rules.include.includes(masterSymbol)) {
    return skip('SYMBOL_FILTERED', `${masterSymbol} is not in the include list`);
  }
  if (rules?.exclude?.includes(masterSymbol)) return skip('SYMBOL_FILTERED', `${masterSymbol} is excluded`);
  return { kind: 'symbol', slaveSymbol: rules?.map?.[masterSymbol] ?? platformSymbol(masterSymbol, slavePlatform) };
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
  /** The master symbol's contract size (units of the base in one of the master's volume), for notional sizing. */
  masterContractSize?: number;
}

/** The raw (unrounded) slave volume a sizing rule asks for, in exact lots. */
export const rawSlaveVolume = (sizing: Sizing, input: SizingInput): { kind: 'volume'; volume: Exact } | Skip => {
  const masterVolume = lotsOf(input.masterVolume);
  switch (sizing.mode) {
    case 'multiplier':
      return { kind: 'volume', volume: mul(masterVolume, sizing.multiplier) };
    case 'fixedVolume':
      return { kind: 'volume', volume: lotsOf(sizing.volume) };
    case 'notional': {
      const master = input.masterContractSize;
      const slave = input.spec.contractSize;
      if (!master || !(master > 0) || !(slave > 0)) return skip('NO_CONTRACT_SIZE', `notional sizing needs both symbols' contract sizes`);
      return { kind: 'volume', volume: mul(div(mul(masterVolume, master), slave), sizing.multiplier ?? 1) };
    }
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
  /** The master symbol's contract size, read for notional sizing. */
  masterContractSize?: number;
  /** The slave's quote of `slaveSymbol`, read when the mapping limits the price deviation (market opens only). */
  slaveQuote?: { bid: number; ask: number };
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

const absolute = (value: Exact): Exact => (compare(value, ZERO) < 0 ? sub(ZERO, value) : value);
const round1 = (value: Exact): number => Math.round(toNumber(value) * 10) / 10;

/** Plans the slave's copy of a master open (market position or pending order). */
export const planOpen = (event: OpenEvent, context: OpenContext): { kind: 'trade'; trade: SlaveTrade } | Skip => {
  const { mapping, spec } = context;
  const source = event.kind === 'orderPlaced' ? event.order : event.position;
  if (!mapping.enabled) return skip('MAPPING_DISABLED');
  if (mapping.mode === 'closeOnly') return skip('CLOSE_ONLY', 'the mapping only closes what it opened');
  const openedAt = masterOpenTime(event);
  if (!openedWhileActive(mapping, openedAt)) {
    return skip('OPENED_BEFORE_MAPPING', `opened at ${openedAt}, before the mapping copied from ${activeSinceOf(mapping)}`);
  }
  if (event.kind === 'orderPlaced' && !mapping.copyPendingOrders) return skip('PENDING_ORDERS_NOT_COPIED');
  const ageSeconds = openAge(event, context.firstAttemptAt);
  if (ageSeconds > mapping.maxDelaySeconds) return skip('SIGNAL_EXPIRED', `opened ${Math.round(ageSeconds)} s before the first attempt to copy it`);
  const allowed = mapping.allowedSides ?? 'both';
  if (allowed !== 'both' && source.side !== allowed) return skip('SIDE_FILTERED', `the mapping copies ${allowed} trades only`);
  if (!magicAllowed(source.magic, mapping.magic)) return skip('MAGIC_FILTERED', `magic number ${source.magic ?? 0} is not copied`);
  if (!spec) return skip('SYMBOL_NOT_AT_BROKER', `${context.slaveSymbol} is not offered by the slave's broker`);

  const override = mapping.symbolOverrides?.[source.symbol];
  const type: OrderType = event.kind === 'orderPlaced' ? event.order.type : 'market';
  const entryPrice = event.kind === 'orderPlaced' ? event.order.price : event.position.openPrice;
  const direction = applyDirection(
    { side: source.side, type, stopLoss: source.stopLoss, takeProfit: source.takeProfit },
    { ...mapping, reverse: override?.reverse ?? mapping.reverse },
  );
  const pip = pipSize(spec.digits);
  if (mapping.maxPriceDeviationPips !== undefined && type === 'market') {
    const quote = context.slaveQuote;
    if (!quote) return skip('PRICE_DEVIATION', `no price for ${context.slaveSymbol} at the slave's broker to compare`);
    const slavePrice = direction.side === 'buy' ? quote.ask : quote.bid;
    const deviation = div(absolute(sub(slavePrice, entryPrice)), pip);
    if (compare(deviation, mapping.maxPriceDeviationPips) > 0) {
      return skip(
        'PRICE_DEVIATION',
        `the slave's price ${slavePrice} is ${round1(deviation)} pips from the master's ${entryPrice} (at most ${mapping.maxPriceDeviationPips})`,
      );
    }
  }
  const stopDistance = direction.stopLoss === undefined ? undefined : absolute(sub(entryPrice, direction.stopLoss));
  if (mapping.maxStopLossPips !== undefined) {
    if (!stopDistance) return skip('STOP_LOSS_TOO_WIDE', 'the trade has no stop loss');
    const pips = div(stopDistance, pip);
    if (compare(pips, mapping.maxStopLossPips) > 0) {
      return skip('STOP_LOSS_TOO_WIDE', `the stop loss is ${round1(pips)} pips from the entry (at most ${mapping.maxStopLossPips})`);
    }
  }
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
    masterContractSize: context.masterContractSize,
  });
  if (raw.kind === 'skip') return raw;
  const { scaled, cap: maxVolume } = withOverride(raw.volume, mapping, override);
  const fitted = fitVolume(scaled, spec, { maxVolume, minVolume: mapping.minVolume });
  if (!fitted.ok) return skip(fitted.reason, `computed ${toNumber(scaled)} lots, minimum ${Math.max(spec.volumeMin, mapping.minVolume ?? 0)}`);
  if (mapping.maxTradeRiskPercent !== undefined) {
    // What the slave loses at its stop loss, as a share of its equity, at the volume it would trade.
    if (!stopDistance) return skip('TRADE_RISK_TOO_HIGH', 'the trade has no stop loss: its risk has no bound');
    const { tickSize, tickValue } = spec;
    if (!tickValue || !(tickSize > 0)) return skip('NO_TICK_VALUE', `no tick value for ${spec.symbol}`);
    if (context.slaveEquity === undefined || context.slaveEquity <= 0) return skip('NO_BALANCE', "the risk limit needs the slave's equity");
    const loss = mul(mul(div(stopDistance, tickSize), tickValue), fitted.volume);
    const percent = div(mul(loss, 100), context.slaveEquity);
    if (compare(percent, mapping.maxTradeRiskPercent) > 0) {
      return skip('TRADE_RISK_TOO_HIGH', `${round1(percent)} % of the slave's equity at the stop loss (at most ${mapping.maxTradeRiskPercent} %)`);
    }
  }
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

/** A sized volume with the symbol's override multiplier on it, and the lower of the mapping's and the override's caps. */
const withOverride = (
  volume: Exact,
  mapping: Pick<CopyMapping, 'maxVolume'>,
  override: { multiplier?: number; maxVolume?: number } | undefined,
): { scaled: Exact; cap: number | undefined } => ({
  scaled: override?.multiplier === undefined ? volume : mul(volume, override.multiplier),
  cap: [mapping.maxVolume, override?.maxVolume]
    .filter((value): value is number => value !== undefined)
    .reduce<number | undefined>((lowest, value) => (lowest === undefined || value < lowest ? value : lowest), undefined),
});

/**
 * The slave's share of a master add-on (a netting position that grew from `previousVolume` by
 * `added`): the copy's own ratio to the master (what the sizing, the override and the rounding
 * gave it) applied to what was added, so the copy grows as the master did whatever the sizing
 * (a fixed volume is not added again, a risk size not taken anew). Rounded down to the slave's
 * step, within the mapping's caps on the copy's whole volume. Filters that decided the open
 * (sides, magic, symbols) decided it.
 */
export const planAddOn = (
  link: { masterSymbol?: string; slaveVolume: number },
  previousVolume: number,
  added: number,
  context: { mapping: CopyMapping; spec: SymbolSpec },
): { kind: 'volume'; volume: number } | Skip => {
  const { mapping, spec } = context;
  if (!mapping.enabled) return skip('MAPPING_DISABLED');
  if (mapping.mode === 'closeOnly') return skip('CLOSE_ONLY', 'the mapping only closes what it opened');
  if (!(previousVolume > 0)) return skip('NOT_COPIED', 'the master position had no volume before');
  const share = div(mul(lotsOf(link.slaveVolume), lotsOf(added)), lotsOf(previousVolume));
  const override = link.masterSymbol === undefined ? undefined : mapping.symbolOverrides?.[link.masterSymbol];
  const { cap } = withOverride(share, mapping, override);
  const room = cap === undefined ? undefined : subtractLots(cap, link.slaveVolume);
  if (room !== undefined && room <= 0) return skip('MAX_VOLUME_PER_TRADE', `the copy already holds ${link.slaveVolume}, the mapping's cap`);
  const fitted = fitVolume(share, spec, room === undefined ? {} : { maxVolume: room });
  if (!fitted.ok) return skip(fitted.reason, `the add-on's share is ${toNumber(share)}, minimum ${spec.volumeMin}`);
  return { kind: 'volume', volume: fitted.volume };
};
