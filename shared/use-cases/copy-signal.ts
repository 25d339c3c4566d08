import type { Account } from '../domain/account';
import { BrokerError, isBrokerError } from '../domain/broker-errors';
import type { CopyMapping } from '../domain/copy-mapping';
import { applyDirection, planAddOn, planOpen, planPartialClose, resolveSlaveSymbol, type SkipReason } from '../domain/copy-planning';
import {
  copyClientId,
  copyRecordId,
  isCopyClientId,
  reasonOf,
  type CopyAction,
  type CopyRecord,
  type FailedCopyRecord,
  type FinalCopyRecord,
  type PendingCopyRecord,
  type SlaveFill,
} from '../domain/copy-record';
import { loopOnOriginPath, MAX_ORIGIN_HOPS } from '../domain/copy-origin';
import { eventId, isOpen, linkTicketOf, masterVolumeOf, subjectOf, type EventOf, type MasterEvent, type OpenEvent } from '../domain/master-events';
import {
  closedLink,
  closeRetryDueAt,
  filledLink,
  isOpenLink,
  legsOf,
  modifiedLink,
  openedLink,
  partiallyClosedLink,
  refusedOnceMore,
  type OpenedOnSlave,
  type PositionLink,
  withLegs,
} from '../domain/position-link';
import { frontLegs, heldLegs, legsAfter, legsVolume, sameLegs, type SlaveLeg, shedOldestFirst } from '../domain/slave-legs';
import { compareLots, subtractLots, sumLots } from '../domain/volume';
import { slippagePips } from '../domain/pips';
import { type Deal, fillingModes, type FillingMode, oppositeSide, type Position, type Side, type StopLevels, type SymbolSpec } from '../domain/trading';

/**
 * The filling modes a market order is sent with, in turn: first the broker's own choice (MetaApi
 * picks among the symbol's modes, FOK first), then, after an `INVALID_FILL`, IOC and RETURN
 * where the symbol allows them (all, when the broker does not say).
 */
const fillingModesToTry = (spec: SymbolSpec | undefined): (FillingMode | undefined)[] => {
  const allowed = spec?.fillingModes;
  const fallbacks = fillingModes.filter((mode) => mode !== 'FOK' && (!allowed || allowed.length === 0 || allowed.includes(mode)));
  return [undefined, ...fallbacks];
};
import type { BrokerPort, ClientIdMatch, TradeRequest, TradeResult } from '../ports/broker';
import type { Log } from '../ports/log';
import type { MetricValue, Metrics } from '../ports/metrics';
import type { AccountProtection } from '../domain/protection';
import { checkOpen, needsEquity, needsExposure } from '../domain/protection-rules';
import type {
  AccountStore,
  AuditEntry,
  CopyContextLoader,
  CopyEffects,
  CopySignal,
  CopyStore,
  CopyWorkerIdentity,
  MappingStore,
  ProtectionStore,
  SignalQueue,
} from '../ports/stores';
import { DeadlineExceededError, withDeadline } from '../domain/deadline';
import type { BrokerDirectory } from './broker-directory';
import { markSlaveEquity } from './protect-slave';

export interface CopyDependencies {
  copyContext: CopyContextLoader;
  /** The master's account, read for notional sizing only (its symbol's contract size, at its broker). */
  accounts?: Pick<AccountStore, 'get'>;
  mappings: MappingStore;
  copies: CopyStore;
  protections: ProtectionStore;
  queue: SignalQueue;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
  metrics: Metrics;
  /** How long a claim on a copy record holds before another delivery may take it over. */
  leaseMs: number;
  /**
   * How long one signal may work at the broker after its claim. Past it the worker lets go of
   * the signal (leaving the claim to its lease: a broker call may still be in flight), so a
   * signal never runs longer than its lease. Must be shorter than `leaseMs` by at least the
   * longest broker call.
   */
  deadlineMs: number;
  /** How long a deferred copy (market closed) waits before the queue brings it back. */
  deferSeconds: number;
  /** Who claims (see CopyWorkerIdentity); without it, claims are taken over only after their lease. */
  worker?: CopyWorkerIdentity;
  /** Told about every record that reaches a final state (the local runtime prints it). */
  onFinished?: (record: FinalCopyRecord) => void;
}

/**
 * The signal cannot be finished now and must come back later (the queue redelivers it):
 * the broker asked to retry, the outcome is unknown and not yet visible, the market is
 * closed, or another delivery holds the record.
 */
export class CopyRetryLaterError extends Error {
  override readonly name = 'CopyRetryLaterError';
  constructor(
    message: string,
    readonly delaySeconds: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

const actionOf: Record<MasterEvent['kind'], CopyAction> = {
  positionOpened: 'open',
  positionModified: 'modify',
  positionPartiallyClosed: 'partialClose',
  positionIncreased: 'addOn',
  positionClosed: 'close',
  orderPlaced: 'placeOrder',
  orderModified: 'modify',
  orderCancelled: 'cancelOrder',
  orderFilled: 'open',
};

/** What the copy did at the slave's broker, or why it did nothing; `finish` makes the record of it. */
type Outcome =
  | ({ status: 'placed'; result: TradeResult; link: PositionLink | undefined; slaveSymbol?: string; side?: 'buy' | 'sell'; slaveVolume?: number } & SlaveFill)
  | { status: 'skipped'; reason: SkipReason; detail?: string; slaveSymbol?: string; link?: PositionLink };

/** In-process retries of a `retry`-class broker error before the signal goes back to the queue. */
const QUICK_RETRY_DELAYS_MS = [100, 300];

/**
 * Turns one copy signal into at most one broker side effect on the slave, exactly once:
 * the copy record of (mapping, event) is claimed before anything is sent; a claim taken
 * over from a dead or timed-out attempt first looks the client id up at the broker; an
 * unknown outcome is looked up before it is retried. Skips and terminal failures end the
 * record with a reason code. Throws CopyRetryLaterError when the signal must come back.
 */
export const copySignal = async (deps: CopyDependencies, signal: CopySignal): Promise<CopyRecord | undefined> => {
  const { event } = signal;
  const started = deps.now();
  const source = subjectOf(event);
  // A master trade that is itself one of our copies: the record that placed it is where its
  // origin path starts (read with the rest of the context, in the same round trip).
  const masterClientId = isOpen(event) && isCopyClientId(source.clientId) ? source.clientId : undefined;
  // Everything the record needs comes from the signal, so the claim and the reads of the
  // mapping, the slave and the link go to DynamoDB together: one round trip, not two.
  const draft: PendingCopyRecord = {
    id: copyRecordId(signal.mappingId, event.id),
    tenantId: signal.tenantId,
    mappingId: signal.mappingId,
    eventId: event.id,
    masterAccountId: signal.masterAccountId,
    slaveAccountId: signal.slaveAccountId,
    action: actionOf[event.kind],
    status: 'pending',
    symbol: source.symbol,
    side: source.side,
    masterPositionId: 'position' in event ? event.position.id : undefined,
    masterOrderId: 'order' in event ? event.order.id : undefined,
    masterVolume: masterVolumeOf(event),
    masterPrice: masterPriceOf(event),
    clientId: copyClientId(signal.mappingId, event.id),
    masterClientId,
    attempts: 0,
    detectedAt: event.detectedAt,
    enqueuedAt: signal.enqueuedAt,
    startedAt: started.toISOString(),
  };
  const [{ mapping, slave, protection, link, origin }, claim] = await Promise.all([
    deps.copyContext.load(signal.tenantId, {
      mappingId: signal.mappingId,
      slaveAccountId: signal.slaveAccountId,
      protection: isOpen(event),
      linkTicket: linkTicketOf(event),
      originClientId: masterClientId,
    }),
    deps.copies.claim(draft, { now: started, leaseMs: deps.leaseMs, worker: deps.worker }),
  ]);
  if (claim.outcome === 'done') return claim.record;
  if (claim.outcome === 'busy') {
    // Come back when the holder's lease ends (a live holder finishes long before): not sooner,
    // so waiting on a dead holder costs one more receive of the message, not a handful.
    throw new CopyRetryLaterError(`copy ${draft.id} is being processed by another delivery`, secondsUntil(claim.leaseUntil, started, 5));
  }
  const record = claim.record;
  const keys = { tenantId: signal.tenantId, mappingId: signal.mappingId, copyId: record.id, eventId: event.id, slaveAccountId: signal.slaveAccountId };
  // The signal names the accounts; the mapping decides them. A signal whose accounts are not
  // the mapping's touches no broker, whatever account it names.
  const mismatch = mapping ? signalMismatch(signal, mapping) : undefined;
  if (mismatch) {
    deps.log.error('copy signal does not match its mapping', { ...keys, mismatch });
    return finish(deps, record, {}, { status: 'skipped', reason: 'SIGNAL_MISMATCH', detail: `the signal's ${mismatch} is not the mapping's` });
  }
  if (!mapping || !slave) {
    deps.log.info('copy signal for a removed mapping or account', keys);
    return finish(deps, record, {}, { status: 'skipped', reason: 'MAPPING_REMOVED', detail: 'the mapping or its slave account was deleted' });
  }
  if (masterClientId) {
    const loop = loopOnOriginPath(await originPath(deps, signal.tenantId, origin), mapping);
    if (loop) return finish(deps, record, {}, { status: 'skipped', reason: 'COPY_LOOP', detail: loop });
  }

  const attempt: Attempt = { deadlineAt: started.getTime() + deps.deadlineMs };
  const leaseEnds = started.getTime() + deps.leaseMs;
  let outcome: Outcome;
  try {
    const work: CopyWork = { event, mapping, slave, link, record, protection, attempt, resumed: claim.resumed };
    outcome = await withDeadline(() => atBroker(deps, work), deps.deadlineMs, `copy ${record.id}`);
  } catch (error) {
    if (error instanceof DeadlineExceededError) {
      // Let go without releasing: a broker call may still land. After the lease, the next
      // delivery looks the client id up before it sends anything.
      deps.log.warn('copy signal ran past its deadline', { ...keys, deadlineMs: deps.deadlineMs });
      throw new CopyRetryLaterError(`copy ${record.id} ran past its deadline`, secondsUntil(leaseEnds, deps.now(), 1), { cause: error });
    }
    return await handleFailure(deps, record, attempt, error, keys, link);
  }
  return finish(deps, record, attempt, outcome);
};

/** The master's price an event carries: an open's fill, a pending order's price; none for closes and SL/TP changes. */
const masterPriceOf = (event: MasterEvent): number | undefined => {
  switch (event.kind) {
    case 'positionOpened':
      return event.position.openPrice;
    case 'orderPlaced':
    case 'orderModified':
      return event.order.price;
    default:
      return undefined;
  }
};

/** Which of the signal's names disagrees with the mapping it is addressed to, if any. */
const signalMismatch = (signal: CopySignal, mapping: CopyMapping): string | undefined => {
  if (mapping.tenantId !== signal.tenantId || signal.event.tenantId !== signal.tenantId) return 'tenant';
  if (mapping.masterAccountId !== signal.masterAccountId || signal.event.masterAccountId !== signal.masterAccountId) return 'master account';
  if (mapping.slaveAccountId !== signal.slaveAccountId) return 'slave account';
  return undefined;
};

/**
 * The accounts a copied master trade came through, nearest first: the master of the copy
 * that placed it, the master of the copy before that, and so on. Each copy record is
 * written (claimed) before its order reaches the broker, so a trade carrying one of our
 * client ids always finds its record.
 */
const originPath = async (deps: CopyDependencies, tenantId: string, first: CopyRecord | undefined): Promise<string[]> => {
  const path: string[] = [];
  let hop = first;
  while (hop && path.length < MAX_ORIGIN_HOPS) {
    path.push(hop.masterAccountId);
    hop = hop.masterClientId ? await deps.copies.findByClientId(tenantId, hop.masterClientId) : undefined;
  }
  return path;
};

/** When this attempt first handed something to the broker, if it did, and when it must stop sending. */
interface Attempt {
  sentAt?: string;
  /** Epoch ms after which the attempt sends nothing more. */
  deadlineAt?: number;
}

/** One claimed signal with everything read for it. */
interface CopyWork {
  event: MasterEvent;
  mapping: CopyMapping;
  slave: Account;
  link: PositionLink | undefined;
  record: PendingCopyRecord;
  protection: AccountProtection | undefined;
  attempt: Attempt;
  /** The claim was taken over from an earlier attempt that may have reached the broker. */
  resumed: boolean;
  /** A close or partial close that goes over the copy's legs (`closesOverLegs`), as decided before it ran. */
  overLegs?: boolean;
}

/** Whole seconds from `now` until `at` (epoch ms), at least one; `fallback` when `at` is unknown. */
const secondsUntil = (at: number | undefined, now: Date, fallback: number): number =>
  at === undefined ? fallback : Math.max(1, Math.ceil((at - now.getTime()) / 1000));

/**
 * Everything a claimed signal does at the broker: a claim taken over from an attempt that may
 * have reached the broker looks the client id up first; an unknown outcome is looked up once
 * more before the record is left pending.
 */
const atBroker = async (deps: CopyDependencies, work: CopyWork): Promise<Outcome> => {
  const port = await deps.brokers.connect(work.slave);
  // A close over legs reads what the legs still hold and closes only the rest: done again, it
  // does not close twice, so it needs no lookup.
  const overLegs = await closesOverLegs(port, work);
  work.overLegs = overLegs;
  const earlier = work.resumed && !overLegs ? await lookUp(port, work, deps.now()) : undefined;
  if (earlier && hasEffect(earlier)) return recovered(work, earlier, deps.now());
  try {
    return await execute(deps, port, work);
  } catch (error) {
    // Outcome unknown (timeout, lost connection): look once right away; if the broker
    // shows nothing yet, the record stays pending and the next delivery looks again.
    if (!isBrokerError(error) || error.errorClass !== 'reconcile' || overLegs) throw error;
    const after = await lookUp(port, work, deps.now());
    if (!hasEffect(after)) throw error;
    return recovered(work, after, deps.now());
  }
};

/**
 * What an earlier attempt of this copy left at the broker: what carries its client id, and for
 * a close on a broker whose closes carry none (OANDA), what the close did. The link knows what
 * the slave position held before it; less now is the earlier attempt's close, which must not be
 * sent again (a partial close sent twice takes twice).
 */
const lookUp = async (port: BrokerPort, work: CopyWork, now: Date): Promise<ClientIdMatch> => {
  const match = await port.findByClientId(work.record.clientId);
  const { link, event } = work;
  if (hasEffect(match) || (event.kind !== 'positionClosed' && event.kind !== 'positionPartiallyClosed')) return match;
  if (!isOpenLink(link) || link.kind !== 'position' || (await port.getCapabilities()).closeClientId) return match;
  const left = (await port.getPositions()).find((position) => position.id === link.slaveTicket)?.volume ?? 0;
  if (compareLots(left, link.slaveVolume) >= 0) return match;
  const closed: Deal = {
    id: `closed-by-effect:${work.record.clientId}`,
    positionId: link.slaveTicket,
    symbol: link.slaveSymbol,
    side: oppositeSide(link.side),
    entry: 'out',
    volume: subtractLots(link.slaveVolume, left),
    price: 0,
    profit: 0,
    time: now.toISOString(),
  };
  return { ...match, deals: [closed] };
};

const hasEffect = (match: ClientIdMatch): boolean => match.positions.length + match.orders.length + match.deals.length > 0;

/** The outcome of an earlier attempt that reached the broker, from what the broker shows. */
const recovered = ({ event, mapping, link }: CopyWork, match: ClientIdMatch, now: Date): Outcome => {
  const position = match.positions[0];
  const order = match.orders[0];
  const deal = match.deals[0];
  const result: TradeResult = { positionId: position?.id ?? deal?.positionId, orderId: order?.id };
  if (isOpen(event)) {
    const opened = position ?? order;
    const found = {
      ticket: order?.id ?? result.positionId ?? '',
      kind: order ? ('order' as const) : ('position' as const),
      symbol: opened?.symbol ?? deal?.symbol ?? '',
      side: opened?.side ?? deal?.side ?? 'buy',
      volume: opened?.volume ?? deal?.volume ?? 0,
      // The levels the copy asked for, as the broker shows them.
      stops: {
        stopLoss: mapping.copyStopLoss ? (opened?.stopLoss ?? null) : undefined,
        takeProfit: mapping.copyTakeProfit ? (opened?.takeProfit ?? null) : undefined,
      },
    };
    return { status: 'placed', result, slaveSymbol: found.symbol, side: found.side, slaveVolume: found.volume, link: openedLink(event, mapping, found, now) };
  }
  if (!link) return { status: 'placed', result, link: undefined };
  switch (event.kind) {
    case 'positionClosed':
      return { status: 'placed', result, slaveSymbol: link.slaveSymbol, side: link.side, slaveVolume: link.slaveVolume, link: closedLink(link, event, now) };
    case 'orderCancelled':
      return { status: 'placed', result, link: closedLink(link, event, now) };
    case 'positionIncreased': {
      // On a netting account the add-on's deal carries its client id (the position keeps the
      // open's) and the position it went to; elsewhere the add-on is a position of its own.
      const own = position && !legsOf(link).some((leg) => leg.ticket === position.id) ? position : undefined;
      const added = own ? own.volume : deal?.entry === 'in' ? deal.volume : 0;
      const into = own?.id ?? deal?.positionId ?? link.slaveTicket;
      return {
        status: 'placed',
        result: { ...result, positionId: into },
        slaveSymbol: link.slaveSymbol,
        side: link.side,
        slaveVolume: added,
        link: addedLink(link, event, into, added),
      };
    }
    case 'positionPartiallyClosed':
      return {
        status: 'placed',
        result,
        slaveSymbol: link.slaveSymbol,
        side: link.side,
        ...(deal ? { slaveVolume: deal.volume } : {}),
        link: partiallyClosedLink(link, event, deal?.volume ?? 0, now),
      };
    default:
      return { status: 'placed', result, link: modifiedLink(link, event) };
  }
};

/** Does what the master did, on the slave; a skip says why not. */
const execute = (deps: CopyDependencies, port: BrokerPort, work: CopyWork): Promise<Outcome> => {
  const { event, link } = work;
  if (isOpen(event)) return copyOpen(deps, port, work, event);
  if (!isOpenLink(link)) {
    return Promise.resolve({
      status: 'skipped',
      reason: 'NOT_COPIED',
      detail: event.kind === 'orderFilled' ? 'the pending order was not copied' : 'no open copy of this master ticket',
    });
  }
  const send = sender(deps, work.attempt);
  switch (event.kind) {
    case 'positionClosed':
      return copyClose(deps, port, work, link, event, send);
    case 'positionPartiallyClosed':
      return copyPartialClose(deps, port, work, link, event, send);
    case 'positionIncreased':
      return copyAddOn(deps, port, work, link, event, send);
    case 'orderCancelled':
      return copyCancel(deps, port, work, link, event, send);
    case 'positionModified':
    case 'orderModified':
      return copyModification(port, work, link, event, send);
    case 'orderFilled':
      return followFill(port, work, link, event);
  }
};

/** Every broker write goes through here: the attempt remembers when it first sent, and requotes are retried. */
const sender =
  (deps: CopyDependencies, attempt: Attempt) =>
  <T>(call: () => Promise<T>): Promise<T> => {
    // An attempt past its deadline has been let go: the next delivery reads the broker again
    // and decides; this one sends nothing more (a copy of several broker calls stops here).
    if (attempt.deadlineAt !== undefined && deps.now().getTime() >= attempt.deadlineAt) {
      return Promise.reject(new DeadlineExceededError('a copy attempt past its deadline (nothing more is sent)', deps.deadlineMs));
    }
    attempt.sentAt ??= deps.now().toISOString();
    return withQuickRetries(call);
  };
type Send = ReturnType<typeof sender>;

/**
 * The master symbol's contract size, at the master's broker (its spec is cached like the
 * slave's). Undefined when the master account is gone, its broker does not offer the symbol or
 * refuses for good: the open is then skipped NO_CONTRACT_SIZE; a broker that cannot be reached
 * now sends the signal back to the queue to be tried again.
 */
const masterContractSizeOf = async (deps: CopyDependencies, event: OpenEvent): Promise<number | undefined> => {
  const master = await deps.accounts?.get(event.tenantId, event.masterAccountId);
  if (!master) return undefined;
  try {
    const port = await deps.brokers.connect(master);
    return (await deps.brokers.symbolSpec(master, port, subjectOf(event).symbol))?.contractSize;
  } catch (error) {
    // The master's broker, not the slave's: its refusal is no slave's BROKER_* failure.
    if (!isBrokerError(error)) throw error;
    if (error.errorClass === 'terminal') return undefined;
    deps.brokers.forget(master.id);
    throw new CopyRetryLaterError(`the master's broker did not give the contract size of ${subjectOf(event).symbol} (${error.code})`, 10, { cause: error });
  }
};

const copyOpen = async (deps: CopyDependencies, port: BrokerPort, work: CopyWork, event: OpenEvent): Promise<Outcome> => {
  const { mapping, slave, link, record, protection } = work;
  if (isOpenLink(link))
    return { status: 'skipped', reason: 'ALREADY_COPIED', detail: `the slave already holds ${link.slaveTicket} for it`, slaveSymbol: link.slaveSymbol };
  const symbol = resolveSlaveSymbol(subjectOf(event).symbol, mapping.symbols, slave.platform);
  if (symbol.kind === 'skip') return { status: 'skipped', reason: symbol.reason, detail: symbol.detail };
  if (protection?.status.state === 'breached') {
    return { status: 'skipped', reason: 'PROTECTION_BREACHED', detail: protection.status.reason, slaveSymbol: symbol.slaveSymbol };
  }
  const spec = await deps.brokers.symbolSpec(slave, port, symbol.slaveSymbol);
  const needsFunds =
    ['balanceRatio', 'equityRatio', 'riskPercent'].includes(mapping.sizing.mode) ||
    mapping.maxTradeRiskPercent !== undefined ||
    (protection !== undefined && needsEquity(protection.rules));
  // The slave's price is read only for a mapping that limits how far it may be from the master's fill.
  const needsQuote = mapping.maxPriceDeviationPips !== undefined && event.kind === 'positionOpened';
  const [funds, slaveQuote] = await Promise.all([
    needsFunds ? port.getAccountInformation() : undefined,
    needsQuote && spec ? port.getQuote(symbol.slaveSymbol) : undefined,
  ]);
  const firstAttemptAt = new Date(record.startedAt ?? deps.now().toISOString());
  const masterContractSize = mapping.sizing.mode === 'notional' && spec ? await masterContractSizeOf(deps, event) : undefined;
  const plan = planOpen(event, {
    mapping,
    slaveSymbol: symbol.slaveSymbol,
    spec,
    masterContractSize,
    slaveBalance: funds?.balance,
    slaveEquity: funds?.equity,
    slaveQuote,
    firstAttemptAt,
  });
  if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, slaveSymbol: symbol.slaveSymbol };
  let trade = plan.trade;
  if (protection && spec) {
    const current = funds && needsEquity(protection.rules) ? await markSlaveEquity(deps, slave, protection, funds.equity, funds.balance) : protection;
    const exposure = needsExposure(protection.rules) ? await port.getPositions() : undefined;
    const verdict = checkOpen(current.rules, current.status, {
      symbol: trade.symbol,
      volume: trade.volume,
      at: deps.now(),
      spec,
      openPositions: exposure?.length,
      openVolume: exposure ? sumLots(exposure.map((position) => position.volume)) : undefined,
    });
    if (verdict.kind === 'skip') return { status: 'skipped', reason: verdict.reason, detail: verdict.detail, slaveSymbol: symbol.slaveSymbol };
    trade = { ...trade, volume: verdict.volume };
  }
  const placed = trade;
  const result = await placeWithFilling(sender(deps, work.attempt), port, { clientId: record.clientId, ...placed }, spec);
  // A pending order a broker filled on arrival (OANDA fills a marketable limit at once) is a position.
  const kind = placed.type === 'market' || (result.orderId === undefined && result.positionId !== undefined) ? 'position' : 'order';
  const ticket = kind === 'position' ? result.positionId : result.orderId;
  if (!ticket) throw new BrokerError('UNKNOWN', 'broker accepted the order but returned no ticket');
  // A market order the broker filled only in part holds what it got: later closes act on that.
  const filled = placed.type === 'market' && result.volume !== undefined && result.volume > 0 ? result.volume : placed.volume;
  // A broker that sets stops after the fill (cTrader) may fill and fail to set them: the copy records none, and says so in the log.
  if (result.stopsNotSet)
    deps.log.warn('the copy filled but its stops were not set', { copyId: record.id, slaveAccountId: slave.id, positionId: result.positionId });
  const stops = result.stopsNotSet
    ? undefined
    : {
        stopLoss: mapping.copyStopLoss ? (placed.stopLoss ?? null) : undefined,
        takeProfit: mapping.copyTakeProfit ? (placed.takeProfit ?? null) : undefined,
      };
  const opened: OpenedOnSlave = { ticket, kind, symbol: placed.symbol, side: placed.side, volume: filled, ...(stops ? { stops } : {}) };
  const slavePrice = placed.type === 'market' ? result.price : placed.price;
  const masterPrice = record.masterPrice;
  return {
    status: 'placed',
    result,
    slaveSymbol: placed.symbol,
    side: placed.side,
    slaveVolume: filled,
    slavePrice,
    // A market fill against the master's: what the copy cost in price (a pending order has not filled yet).
    slippagePips:
      placed.type === 'market' && slavePrice !== undefined && masterPrice !== undefined && spec
        ? slippagePips(placed.side, masterPrice, slavePrice, spec.digits)
        : undefined,
    stopLoss: result.stopsNotSet ? undefined : placed.stopLoss,
    takeProfit: result.stopsNotSet ? undefined : placed.takeProfit,
    link: openedLink(event, mapping, opened, deps.now()),
  };
};

/**
 * Places an order; a market order the broker refuses for its filling mode (`INVALID_FILL`: the
 * order was not executed) is sent again with the next mode (FOK -> IOC -> RETURN, as the symbol
 * allows), under the same client id. The last refusal ends the copy `BROKER_INVALID_FILL`.
 */
const placeWithFilling = async (send: Send, port: BrokerPort, request: TradeRequest, spec: SymbolSpec | undefined): Promise<TradeResult> => {
  const modes = request.type === 'market' ? fillingModesToTry(spec) : [undefined];
  for (const [index, mode] of modes.entries()) {
    try {
      return await send(() => port.placeOrder(mode ? { ...request, fillingMode: mode } : request));
    } catch (error) {
      if (!(isBrokerError(error) && error.code === 'INVALID_FILL' && index < modes.length - 1)) throw error;
    }
  }
  throw new BrokerError('INVALID_FILL', 'no filling mode left to try');
};

const copyClose = async (
  deps: CopyDependencies,
  port: BrokerPort,
  work: CopyWork,
  link: PositionLink,
  event: EventOf<'positionClosed'>,
  send: Send,
): Promise<Outcome> => {
  if (work.overLegs) return closeOverLegs(deps, port, work, link, event, send);
  const after = closedLink(link, event, deps.now());
  const { netting, closeClientId } = await port.getCapabilities();
  let volume: number | undefined;
  if (netting) {
    // One position per symbol: other copies' volume, or the trader's, may be in it too, and a
    // reversal keeps its id. The copy closes its own volume, and nothing of a position that
    // turned to the other side (the copy went with that reversal).
    const held = (await port.getPositions()).find((position) => position.id === link.slaveTicket);
    if (!held || held.side !== link.side) {
      const detail = held ? `the slave's position ${link.slaveTicket} is now a ${held.side}: the copy's ${link.side} was closed with its reversal` : undefined;
      return { status: 'skipped', reason: 'ALREADY_CLOSED', ...(detail ? { detail } : {}), slaveSymbol: link.slaveSymbol, link: after };
    }
    // Where closes carry no client id, a retry knows a close by what the position lost; a share
    // closed of a larger position would not show, so the whole is closed there, as before.
    if (closeClientId && compareLots(held.volume, link.slaveVolume) > 0) volume = link.slaveVolume;
  }
  const options = volume === undefined ? { clientId: work.record.clientId } : { clientId: work.record.clientId, volume };
  const closed = await alreadyGone(() => send(() => port.closePosition(link.slaveTicket, options)), 'POSITION_NOT_FOUND');
  if (!closed) return { status: 'skipped', reason: 'ALREADY_CLOSED', slaveSymbol: link.slaveSymbol, link: after };
  return {
    status: 'placed',
    result: closed,
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    slaveVolume: link.slaveVolume,
    slavePrice: closed.price,
    link: after,
  };
};

/**
 * A master position grew (a netting account's add-on): the slave's copy grows by its own ratio
 * to the master applied to what was added (`planAddOn`), as one market order on the copy's
 * side. A netting slave adds it to the copy's position; any other keeps it as a trade of its
 * own, which the copy holds as one more leg (closes then take every leg). A copy that is gone
 * meanwhile is not added to.
 */
const copyAddOn = async (
  deps: CopyDependencies,
  port: BrokerPort,
  work: CopyWork,
  link: PositionLink,
  event: EventOf<'positionIncreased'>,
  send: Send,
): Promise<Outcome> => {
  const { mapping, slave, protection, record } = work;
  if (link.kind !== 'position') return { status: 'skipped', reason: 'NOT_COPIED', detail: 'the copy is a pending order', slaveSymbol: link.slaveSymbol };
  const { netting } = await port.getCapabilities();
  // The copy may be gone (its own stop, closed by hand): an order now would open a position nobody follows.
  const positions = await port.getPositions();
  if (!legsOf(link).some((leg) => positions.some((position) => position.id === leg.ticket)))
    return {
      status: 'skipped',
      reason: 'ALREADY_CLOSED',
      detail: `the copy ${link.slaveTicket} is no longer open`,
      slaveSymbol: link.slaveSymbol,
      link: closedLink(link, event, deps.now()),
    };
  const spec = await deps.brokers.symbolSpec(slave, port, link.slaveSymbol);
  if (!spec) return { status: 'skipped', reason: 'SYMBOL_NOT_AT_BROKER', slaveSymbol: link.slaveSymbol };
  const plan = planAddOn(link, event.previousVolume, masterVolumeOf(event), { mapping, spec });
  if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, slaveSymbol: link.slaveSymbol };
  let volume = plan.volume;
  if (protection) {
    const funds = needsEquity(protection.rules) ? await port.getAccountInformation() : undefined;
    const current = funds ? await markSlaveEquity(deps, slave, protection, funds.equity, funds.balance) : protection;
    const exposure = needsExposure(protection.rules);
    const verdict = checkOpen(current.rules, current.status, {
      symbol: link.slaveSymbol,
      volume,
      at: deps.now(),
      spec,
      // On a netting account the add-on opens no position of its own: only volume counts there.
      openPositions: exposure && !netting ? positions.length : undefined,
      openVolume: exposure ? sumLots(positions.map((position) => position.volume)) : undefined,
    });
    if (verdict.kind === 'skip') return { status: 'skipped', reason: verdict.reason, detail: verdict.detail, slaveSymbol: link.slaveSymbol };
    volume = verdict.volume;
  }
  // A trade of its own (not netting) takes the copy's stops: those of its first trade still open.
  const first = netting ? undefined : positions.find((position) => legsOf(link).some((leg) => leg.ticket === position.id));
  const stops = first ? { stopLoss: first.stopLoss, takeProfit: first.takeProfit } : {};
  const result = await placeWithFilling(
    send,
    port,
    { clientId: record.clientId, symbol: link.slaveSymbol, side: link.side, type: 'market', volume, ...stops },
    spec,
  );
  const filled = result.volume !== undefined && result.volume > 0 ? result.volume : volume;
  return {
    status: 'placed',
    result,
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    slaveVolume: filled,
    slavePrice: result.price,
    stopLoss: stops.stopLoss,
    takeProfit: stops.takeProfit,
    link: addedLink(link, event, result.positionId, filled),
  };
};

/**
 * The copy's link after an add-on of `added`: the leg the broker added it to grows; an add-on
 * the broker kept as a position of its own (hedging, OANDA, or a netting copy closed meanwhile)
 * is one more leg, so nothing on the slave is left without a link.
 */
const addedLink = (link: PositionLink, event: EventOf<'positionIncreased'>, positionId: string | undefined, added: number): PositionLink => {
  const applied = {
    ...link,
    appliedRev: Math.max(event.position.rev, link.appliedRev),
    masterVolume: event.position.volume,
    slaveVolume: sumLots([link.slaveVolume, added]),
  };
  const into = positionId ?? link.slaveTicket;
  const legs = legsOf(link);
  const grown = legs.some((leg) => leg.ticket === into);
  return withLegs(
    applied,
    grown ? legs.map((leg) => (leg.ticket === into ? { ...leg, volume: sumLots([leg.volume, added]) } : leg)) : [...legs, { ticket: into, volume: added }],
  );
};

/** Oldest first: by open time, then by ticket (a broker's tickets grow). */
const byAge = (a: Position, b: Position): number => a.openedAt.localeCompare(b.openedAt) || a.id.length - b.id.length || a.id.localeCompare(b.id);

/**
 * Whether a close of this copy goes over its legs: the copy holds several trades, or the slave
 * closes FIFO (US rules: a symbol's oldest trades close first), where the copies' trades are
 * exchanged and may be shared.
 */
const closesOverLegs = async (port: BrokerPort, { event, link }: CopyWork): Promise<boolean> =>
  (event.kind === 'positionClosed' || event.kind === 'positionPartiallyClosed') &&
  isOpenLink(link) &&
  link.kind === 'position' &&
  (link.legs !== undefined || (await port.getCapabilities()).fifo);

const keyOf = (link: Pick<PositionLink, 'mappingId' | 'masterTicket'>): string => `${link.mappingId}#${link.masterTicket}`;

/**
 * A close or partial close of a copy over its legs: the copy ends holding `target` (nothing, or
 * what the master's share leaves), and what its legs still hold above that is closed, oldest
 * first. It reads the broker first, so done again after a crash it closes only what is still
 * to close, never twice.
 *
 * On a FIFO account the symbol's oldest trades must close first. The copies' trades are one
 * pool there: before it closes, the closing copy takes the oldest of what the copies hold and
 * the others take its trades, each keeping its own first (`frontLegs`). The trades a copy takes
 * whole get its stops first (best effort), then the links change in one transaction
 * (`relinkLegs`), then the closes go out. A retry finds the links changed and closes; a trade
 * of the trader's own that is older than every copy's blocks the close: it fails
 * FIFO_VIOLATION, recorded, and nothing is closed.
 */
const closeOverLegs = async (
  deps: CopyDependencies,
  port: BrokerPort,
  work: CopyWork,
  link: PositionLink,
  event: EventOf<'positionClosed' | 'positionPartiallyClosed'>,
  send: Send,
): Promise<Outcome> => {
  const spec = await deps.brokers.symbolSpec(work.slave, port, link.slaveSymbol);
  let target = 0;
  if (event.kind === 'positionPartiallyClosed') {
    if (!spec) return { status: 'skipped', reason: 'SYMBOL_NOT_AT_BROKER', slaveSymbol: link.slaveSymbol };
    const plan = planPartialClose(link, event.previousVolume, event.position.volume, spec);
    if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, slaveSymbol: link.slaveSymbol };
    if (!plan.full) target = subtractLots(link.slaveVolume, plan.volume);
  }
  const { fifo, closeClientId } = await port.getCapabilities();
  const trades = (await port.getPositions()).filter((position) => position.symbol === link.slaveSymbol).sort(byAge);
  const me = keyOf(link);
  // The copy being closed goes last: a trade it shares that shrank shrank by its close.
  const others = fifo
    ? (await openLinksOnSlave(deps, work)).filter((other) => other.kind === 'position' && other.slaveSymbol === link.slaveSymbol && keyOf(other) !== me)
    : [];
  others.sort((a, b) => a.openedAt.localeCompare(b.openedAt) || keyOf(a).localeCompare(keyOf(b)));
  const scope = [...others, link];
  const held = heldLegs(
    scope.map((each) => ({ key: keyOf(each), legs: legsOf(each) })),
    trades,
  );
  let mine = held.get(me) ?? [];
  let allocation: Map<string, SlaveLeg[]> = held;
  const shed = subtractLots(legsVolume(mine), target);
  const volumeMin = spec?.volumeMin ?? 0;
  // The levels each copy's trades carry before anything moves: a copy that records none keeps those of the trade it held first.
  const levels = new Map<string, StopLevels>();
  for (const each of others) {
    const first = trades.find((trade) => trade.id === held.get(keyOf(each))?.[0]?.ticket);
    const own = first && { stopLoss: first.stopLoss ?? null, takeProfit: first.takeProfit ?? null };
    const wanted = each.stops && (each.stops.stopLoss !== undefined || each.stops.takeProfit !== undefined) ? each.stops : own;
    if (wanted) levels.set(keyOf(each), wanted);
  }
  if (fifo && compareLots(shed, 0) > 0) {
    const fronted = frontLegs(
      me,
      held,
      trades.map((trade) => trade.id),
    );
    const front = fronted.get(me) ?? [];
    // Every trade the closes touch must be older than every trade that is not a copy's: the broker closes oldest first.
    const copied = new Set([...held.values()].flat().map((leg) => leg.ticket));
    const touched = shedOldestFirst(front, trades, shed, volumeMin).map((close) => trades.findIndex((trade) => trade.id === close.ticket));
    const blocking = trades.find((trade, index) => !copied.has(trade.id) && touched.some((at) => at > index));
    if (blocking) {
      throw new BrokerError(
        'FIFO_VIOLATION',
        `${link.slaveSymbol} ${blocking.id} (${blocking.volume}) is older than copied trades this close must take and is not a copy: it must close first`,
      );
    }
    if (!sameLegs(front, mine)) {
      const changes = scope.flatMap((each) => {
        const legs = fronted.get(keyOf(each)) ?? [];
        return sameLegs(legs, legsOf(each)) ? [] : [{ before: each, after: withLegs(each, legs) }];
      });
      await deps.copies.relinkLegs(changes);
      deps.log.info('FIFO: the closing copy took the oldest trades', { slaveAccountId: work.slave.id, for: link.masterTicket, legs: front });
      link = withLegs(link, front);
      mine = front;
      allocation = fronted;
    }
  }
  const closes = shedOldestFirst(mine, trades, shed, volumeMin);
  const done: typeof closes = [];
  const results: TradeResult[] = [];
  const now = deps.now();
  /** The link after the closes that went through: it holds what is left, and never says more than that. */
  const linkAfter = (): PositionLink => {
    const left = legsAfter(mine, done);
    const holds = legsVolume(left);
    if (left.length === 0) return closedLink(withLegs(link, left), event, now);
    // A close refused after some of its closes went through: the copy holds what is left and
    // stays open, so the reconcile's retry (or a close-all) closes it.
    if (target === 0) return { ...withLegs(link, left), slaveVolume: holds };
    return {
      ...withLegs(link, left),
      appliedRev: event.position.rev,
      masterVolume: event.position.volume,
      slaveVolume: compareLots(holds, target) < 0 ? holds : target,
    };
  };
  for (const close of closes) {
    const options = close.full ? { clientId: work.record.clientId } : { clientId: work.record.clientId, volume: close.volume };
    try {
      const closed = await alreadyGone(() => send(() => port.closePosition(close.ticket, options)), 'POSITION_NOT_FOUND');
      done.push(close);
      if (closed) results.push(closed);
    } catch (error) {
      // Refused for good after some closes went through: the record fails, and the link keeps
      // only what is left, so a close-all (or the next close) takes the rest and nothing twice.
      if (isBrokerError(error) && error.errorClass === 'terminal' && done.length > 0) throw Object.assign(error, { linkAfter: linkAfter() });
      throw error;
    }
  }
  const after = linkAfter();
  const keptLevels = event.kind === 'positionPartiallyClosed' && fifo ? copiedLevels(work.mapping, event.position, link) : undefined;
  if (keptLevels && !after.closedAt) after.stops = { ...link.stops, ...definedLevels(keptLevels) };
  if (fifo) {
    // Trades that passed from one copy to another take their new holder's stops.
    allocation.set(me, after.closedAt ? [] : legsOf(after));
    if (keptLevels) levels.set(me, keptLevels);
    const tradesLeft = trades.flatMap((position) => {
      const close = closes.find((candidate) => candidate.ticket === position.id);
      if (close?.full) return [];
      return [{ position, volume: close ? subtractLots(position.volume, close.volume) : position.volume }];
    });
    await settleStops(deps, port, work, { scope, allocation, levels, trades: tradesLeft, send });
  }
  const first = results[0];
  if (!first) {
    // Nothing closed now. After an earlier attempt that may have closed it, the broker says
    // whether it did where closes carry the client id; where they do not, it counts as done.
    const earlier = work.resumed && (!closeClientId || hasEffect(await port.findByClientId(work.record.clientId)));
    if (!earlier) {
      return {
        status: 'skipped',
        reason: 'ALREADY_CLOSED',
        detail: mine.length === 0 ? `the copy's trades are no longer open` : `the copy already holds no more than ${target}`,
        slaveSymbol: link.slaveSymbol,
        link: after,
      };
    }
  }
  return {
    status: 'placed',
    // Nothing closed now by a retry: an earlier attempt closed it.
    result: first ?? { positionId: link.slaveTicket },
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    slaveVolume: first ? sumLots(closes.filter((close) => done.includes(close)).map((close) => close.volume)) : subtractLots(link.slaveVolume, target),
    slavePrice: first?.price,
    link: after,
  };
};

/**
 * After closes on a FIFO account: every trade one copy now holds whole carries that copy's stops
 * (the closing copy's, when it keeps some, are the master's now). Best effort, after the closes:
 * a level refused must not stop the close that cuts exposure, and a retry sets what is left.
 */
const settleStops = async (
  deps: CopyDependencies,
  port: BrokerPort,
  work: CopyWork,
  context: {
    scope: readonly PositionLink[];
    allocation: ReadonlyMap<string, readonly SlaveLeg[]>;
    levels: ReadonlyMap<string, StopLevels>;
    trades: readonly SlaveTradeLeft[];
    send: Send;
  },
): Promise<void> => {
  const { scope, allocation, levels, trades, send } = context;
  const holders = (ticket: string) => [...allocation].filter(([, legs]) => legs.some((leg) => leg.ticket === ticket)).length;
  for (const each of scope) {
    const wanted = levels.get(keyOf(each));
    if (!wanted) continue;
    for (const leg of allocation.get(keyOf(each)) ?? []) {
      const trade = trades.find((candidate) => candidate.position.id === leg.ticket);
      if (!trade || holders(leg.ticket) !== 1 || compareLots(leg.volume, trade.volume) < 0) continue;
      await setLevels(deps, port, work, trade.position, wanted, send);
    }
  }
};

/** A slave trade and the volume it has left after this copy's closes. */
interface SlaveTradeLeft {
  position: Position;
  volume: number;
}

/** Sets a trade's stops where they differ, as well as can be: a refusal is logged, not thrown. */
const setLevels = async (deps: CopyDependencies, port: BrokerPort, work: CopyWork, trade: Position, levels: StopLevels, send: Send): Promise<void> => {
  if (sameLevels(trade, levels)) return;
  try {
    await send(() => port.modifyPosition(trade.id, levels));
  } catch (error) {
    if (!isBrokerError(error)) throw error;
    deps.log.warn('FIFO: stops of a trade not moved', { slaveAccountId: work.slave.id, positionId: trade.id, code: error.code });
  }
};

/** The levels a change sets (a level left undefined is left as it was). */
const definedLevels = (levels: StopLevels): StopLevels => ({
  ...(levels.stopLoss !== undefined ? { stopLoss: levels.stopLoss } : {}),
  ...(levels.takeProfit !== undefined ? { takeProfit: levels.takeProfit } : {}),
});

/** Whether a trade's levels are those asked (a level left undefined is not asked). */
const sameLevels = (trade: Pick<Position, 'stopLoss' | 'takeProfit'>, levels: StopLevels): boolean =>
  (levels.stopLoss === undefined || (levels.stopLoss ?? undefined) === trade.stopLoss) &&
  (levels.takeProfit === undefined || (levels.takeProfit ?? undefined) === trade.takeProfit);

/**
 * The stop levels a copy of `source` has on the slave under the mapping: null removes, undefined
 * leaves the slave's own. The copy is reversed when its side is not the master's (the mapping's
 * `reverse` or the symbol's override, as the open decided it).
 */
const copiedLevels = (mapping: CopyMapping, source: { side: Side; stopLoss?: number; takeProfit?: number }, link: Pick<PositionLink, 'side'>): StopLevels => {
  const stops = applyDirection(
    { side: source.side, type: 'market', stopLoss: source.stopLoss, takeProfit: source.takeProfit },
    { ...mapping, reverse: link.side !== source.side },
  );
  return {
    stopLoss: mapping.copyStopLoss ? (stops.stopLoss ?? null) : undefined,
    takeProfit: mapping.copyTakeProfit ? (stops.takeProfit ?? null) : undefined,
  };
};

/** The open links of every mapping into this slave. */
const openLinksOnSlave = async (deps: CopyDependencies, work: CopyWork): Promise<PositionLink[]> => {
  const mappings = (await deps.mappings.listAll(work.slave.tenantId)).filter((mapping) => mapping.slaveAccountId === work.slave.id);
  return (await Promise.all(mappings.map((mapping) => deps.copies.listOpenLinks(work.slave.tenantId, mapping.id)))).flat();
};

const copyPartialClose = async (
  deps: CopyDependencies,
  port: BrokerPort,
  work: CopyWork,
  link: PositionLink,
  event: EventOf<'positionPartiallyClosed'>,
  send: Send,
): Promise<Outcome> => {
  if (work.overLegs) return closeOverLegs(deps, port, work, link, event, send);
  const spec = await deps.brokers.symbolSpec(work.slave, port, link.slaveSymbol);
  if (!spec) return { status: 'skipped', reason: 'SYMBOL_NOT_AT_BROKER', slaveSymbol: link.slaveSymbol };
  const plan = planPartialClose(link, event.previousVolume, event.position.volume, spec);
  if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, slaveSymbol: link.slaveSymbol };
  const options = plan.full ? { clientId: work.record.clientId } : { clientId: work.record.clientId, volume: plan.volume };
  const closed = await alreadyGone(() => send(() => port.closePosition(link.slaveTicket, options)), 'POSITION_NOT_FOUND');
  if (!closed) return { status: 'skipped', reason: 'ALREADY_CLOSED', slaveSymbol: link.slaveSymbol, link: closedLink(link, event, deps.now()) };
  return {
    status: 'placed',
    result: closed,
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    slaveVolume: plan.volume,
    slavePrice: closed.price,
    link: partiallyClosedLink(link, event, plan.volume, deps.now()),
  };
};

const copyCancel = async (
  deps: CopyDependencies,
  port: BrokerPort,
  _work: CopyWork,
  link: PositionLink,
  event: EventOf<'orderCancelled'>,
  send: Send,
): Promise<Outcome> => {
  const cancelled = await alreadyGone(async () => {
    await send(() => port.cancelOrder(link.slaveTicket));
    return true;
  }, 'ORDER_NOT_FOUND');
  const after = closedLink(link, event, deps.now());
  if (!cancelled) return { status: 'skipped', reason: 'ALREADY_CLOSED', slaveSymbol: link.slaveSymbol, link: after };
  return { status: 'placed', result: { orderId: link.slaveTicket }, slaveSymbol: link.slaveSymbol, side: link.side, link: after };
};

/** A master SL/TP (or pending price) change: the slave's levels follow, reversed with the trade when the mapping reverses. */
const copyModification = async (
  port: BrokerPort,
  { mapping }: CopyWork,
  link: PositionLink,
  event: EventOf<'positionModified' | 'orderModified'>,
  send: Send,
): Promise<Outcome> => {
  const levels = copiedLevels(mapping, subjectOf(event), link);
  // A broker that replaces an order to move it (OANDA) gives it a new id: the link follows it.
  let slaveTicket = link.slaveTicket;
  if (event.kind === 'orderModified') slaveTicket = (await send(() => port.modifyOrder(link.slaveTicket, { price: event.order.price, ...levels }))).orderId;
  else if (link.legs || (await port.getCapabilities()).fifo) {
    // Every trade the copy holds takes the levels; one it shares with another copy (FIFO) keeps that copy's.
    const positions = await port.getPositions();
    const whole = legsOf(link).flatMap((leg) => positions.filter((position) => position.id === leg.ticket && compareLots(leg.volume, position.volume) >= 0));
    if (whole.length === 0) {
      return {
        status: 'skipped',
        reason: 'SHARED_TRADE',
        detail: "the copy holds only shares of trades other copies hold too (FIFO): their stops stay the other copies'",
        slaveSymbol: link.slaveSymbol,
        // The copy's levels are kept: a trade that passes to it alone later takes them.
        link: { ...modifiedLink(link, event), stops: { ...link.stops, ...definedLevels(levels) } },
      };
    }
    for (const position of whole) if (!sameLevels(position, levels)) await send(() => port.modifyPosition(position.id, levels));
  } else await send(() => port.modifyPosition(link.slaveTicket, levels));
  return {
    status: 'placed',
    result: {},
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    ...(event.kind === 'orderModified' ? { slavePrice: event.order.price } : {}),
    // The levels the copy set (a level removed, or left as it was, is not shown).
    stopLoss: levels.stopLoss ?? undefined,
    takeProfit: levels.takeProfit ?? undefined,
    link: { ...modifiedLink(link, event), slaveTicket, stops: { ...link.stops, ...definedLevels(levels) } },
  };
};

/**
 * The slave's copy of the pending order fills at its own broker by itself; the link follows
 * it from the order to the position it became.
 */
const followFill = async (port: BrokerPort, { mapping }: CopyWork, link: PositionLink, event: EventOf<'orderFilled'>): Promise<Outcome> => {
  const match = await port.findByClientId(copyClientId(mapping.id, eventId('orderPlaced', link.masterTicket, 0)));
  const position = match.positions[0];
  if (!position) throw new CopyRetryLaterError('the slave order has not filled yet', 10);
  return {
    status: 'placed',
    result: { positionId: position.id },
    slaveSymbol: link.slaveSymbol,
    side: link.side,
    slaveVolume: position.volume,
    link: filledLink(link, event, position.id),
  };
};

/** Runs a close or cancel; a ticket the broker no longer has means it is already done. */
const alreadyGone = async <T>(run: () => Promise<T>, code: 'POSITION_NOT_FOUND' | 'ORDER_NOT_FOUND'): Promise<T | undefined> => {
  try {
    return await run();
  } catch (error) {
    if (isBrokerError(error) && error.code === code) return undefined;
    throw error;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The longest wait a broker may ask for that is still spent in process; longer ones go back to the queue. */
const MAX_IN_PROCESS_WAIT_MS = 1_000;

/**
 * Retries requotes and throttling in process a couple of times; only `retry`-class errors,
 * never unknown outcomes. A broker asking for a longer pause (a 429 with a retry time) gets it
 * through the queue instead, so the copy Lambda does not spend its budget asleep.
 */
const withQuickRetries = async <T>(run: () => Promise<T>): Promise<T> => {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      const delay = QUICK_RETRY_DELAYS_MS[attempt];
      if (!isBrokerError(error) || error.errorClass !== 'retry' || delay === undefined) throw error;
      if ((error.retryAfterMs ?? 0) > MAX_IN_PROCESS_WAIT_MS) throw error;
      await sleep(Math.max(delay, error.retryAfterMs ?? 0));
    }
  }
};

const completion = (deps: CopyDependencies, record: PendingCopyRecord, attempt: Attempt) => {
  const completed = deps.now();
  return {
    ...record,
    ...(attempt.sentAt ? { sentAt: attempt.sentAt } : {}),
    completedAt: completed.toISOString(),
    latencyMs: completed.getTime() - Date.parse(record.detectedAt),
  };
};

const finish = async (deps: CopyDependencies, record: PendingCopyRecord, attempt: Attempt, outcome: Outcome): Promise<CopyRecord> => {
  const done = completion(deps, record, attempt);
  const slaveSymbol = outcome.slaveSymbol ?? record.slaveSymbol;
  const final: FinalCopyRecord =
    outcome.status === 'skipped'
      ? { ...done, status: 'skipped', reason: outcome.reason, reasonDetail: outcome.detail, slaveSymbol }
      : {
          ...done,
          status: 'placed',
          slaveSymbol,
          side: outcome.side ?? record.side,
          // A pending order's ticket is the id of the position it becomes (MT4 and MT5).
          slavePositionId: outcome.result.positionId ?? outcome.link?.slaveTicket,
          slaveOrderId: outcome.result.orderId,
          slaveVolume: outcome.slaveVolume,
          slavePrice: outcome.slavePrice,
          slippagePips: outcome.slippagePips,
          stopLoss: outcome.stopLoss,
          takeProfit: outcome.takeProfit,
        };
  const audit: AuditEntry | undefined =
    final.status === 'placed'
      ? {
          tenantId: record.tenantId,
          at: final.completedAt,
          actor: 'system:copier',
          action: `copy.${record.action}`,
          resourceType: 'account',
          resourceId: record.slaveAccountId,
          details: {
            mappingId: record.mappingId,
            copyId: record.id,
            symbol: final.slaveSymbol,
            side: final.side,
            volume: final.slaveVolume,
            slavePositionId: final.slavePositionId,
            slaveOrderId: final.slaveOrderId,
          },
        }
      : undefined;
  await deps.copies.finish(final, { link: outcome.link, audit });
  observeCopy(deps.metrics, final);
  deps.onFinished?.(final);
  return final;
};

/**
 * A finished copy's metrics: its latency from detection to the broker's answer, and one count
 * under its action, status and reason (skips and failures by reason code).
 */
const observeCopy = (metrics: Metrics, record: FinalCopyRecord): void => {
  // CloudWatch bills a metric for each hour it is sent in: a failure count is sent only when
  // there is a failure (its alarm reads no data as none), not as a zero with every copy.
  const values: MetricValue[] = [
    { name: 'CopyLatency', unit: 'Milliseconds', value: record.latencyMs },
    ...(record.status === 'failed' ? [{ name: 'CopiesFailed', unit: 'Count', value: 1 } as const] : []),
  ];
  // The broker's share of the latency is read, not alarmed on: a property of the line, not a metric of its own.
  metrics.emit({}, values, record.sentAt ? { brokerMs: Date.parse(record.completedAt) - Date.parse(record.sentAt) } : {});
  metrics.emit({ action: record.action, status: record.status, reason: reasonOf(record) ?? 'NONE' }, [{ name: 'Copies', unit: 'Count', value: 1 }]);
};

/** The actions that end a copy on the slave: a close, a pending order's cancel. */
const isEnd = (action: CopyAction): boolean => action === 'close' || action === 'cancelOrder';

const handleFailure = async (
  deps: CopyDependencies,
  record: PendingCopyRecord,
  attempt: Attempt,
  error: unknown,
  keys: Record<string, unknown>,
  link: PositionLink | undefined,
): Promise<CopyRecord> => {
  if (!isBrokerError(error)) {
    // CopyRetryLaterError, or something unexpected: the record stays pending for the next delivery.
    await deps.copies.release(record);
    throw error;
  }
  deps.log.warn('broker refused a copy', { ...keys, code: error.code, errorClass: error.errorClass, error });
  switch (error.errorClass) {
    case 'terminal': {
      const failed: FailedCopyRecord = { ...completion(deps, record, attempt), status: 'failed', reason: error.reason, reasonDetail: error.message };
      // A close over legs refused after some of its closes went through: the link keeps what is left.
      const after = (error as { linkAfter?: PositionLink }).linkAfter;
      // A close or cancel refused leaves the slave holding what the master no longer holds: the
      // link says so, and the reconcile sends it again later (`closeRetryDueAt`).
      const refused = isEnd(record.action) && isOpenLink(link) ? refusedOnceMore(link.closeRefused, failed.completedAt, error.reason) : undefined;
      if (refused)
        deps.log.warn('the slave refused a close: it is sent again later', {
          ...keys,
          refusals: refused.count,
          retryAt: new Date(closeRetryDueAt(refused)).toISOString(),
        });
      const effects: CopyEffects | undefined = after
        ? { link: refused && !after.closedAt ? { ...after, closeRefused: refused } : after }
        : refused && link
          ? { refusedClose: { tenantId: link.tenantId, mappingId: link.mappingId, masterTicket: link.masterTicket, refused } }
          : undefined;
      await deps.copies.finish(failed, effects);
      observeCopy(deps.metrics, failed);
      deps.onFinished?.(failed);
      return failed;
    }
    case 'reconcile':
      // Outcome unknown: the record stays pending; the next delivery resumes it and looks
      // the client id up at the broker before sending anything.
      await deps.copies.release(record);
      throw new CopyRetryLaterError(`outcome of ${record.clientId} unknown (${error.code})`, 2, { cause: error });
    case 'defer':
      await deps.copies.release(record);
      throw new CopyRetryLaterError(`deferred: ${error.code}`, deps.deferSeconds, { cause: error });
    case 'retry':
      await deps.copies.release(record);
      throw new CopyRetryLaterError(`broker asked to retry: ${error.code}`, Math.ceil((error.retryAfterMs ?? 5000) / 1000), { cause: error });
  }
};
