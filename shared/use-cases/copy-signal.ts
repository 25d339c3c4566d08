import type { Account } from '../domain/account';
import { BrokerError, isBrokerError } from '../domain/broker-errors';
import type { CopyMapping } from '../domain/copy-mapping';
import { applyDirection, planOpen, planPartialClose, resolveSlaveSymbol, type SkipReason } from '../domain/copy-planning';
import { copyClientId, copyRecordId, isCopyClientId, type CopyAction, type CopyRecord } from '../domain/copy-record';
import { loopOnOriginPath, MAX_ORIGIN_HOPS } from '../domain/copy-origin';
import type { MasterEvent } from '../domain/master-events';
import type { PositionLink } from '../domain/position-link';
import type { BrokerPort, ClientIdMatch, TradeResult } from '../ports/broker';
import type { Log } from '../ports/log';
import type { AccountProtection } from '../domain/protection';
import { checkOpen, needsEquity, needsExposure } from '../domain/protection-rules';
import type { AuditEntry, CopyContextLoader, CopySignal, CopyStore, CopyWorkerIdentity, MappingStore, ProtectionStore, SignalQueue } from '../ports/stores';
import { DeadlineExceededError, withDeadline } from '../domain/deadline';
import type { BrokerDirectory } from './broker-directory';
import { markSlaveEquity } from './protect-slave';

export interface CopyDependencies {
  copyContext: CopyContextLoader;
  mappings: MappingStore;
  copies: CopyStore;
  protections: ProtectionStore;
  queue: SignalQueue;
  brokers: BrokerDirectory;
  now: () => Date;
  log: Log;
  /** How long a claim on a copy record holds before another delivery may take it over. */
  leaseMs: number;
  /**
   * How long one signal may work at the broker after its claim. Past it the worker lets go of
   * the signal (leaving the claim to its lease: a broker call may still be in flight), so a
   * signal never runs longer than its lease. Must be shorter than `leaseMs` by at least the
   * longest broker call.
   */
  deadlineMs: number;
  /** Who claims (see CopyWorkerIdentity); without it, claims are taken over only after their lease. */
  worker?: CopyWorkerIdentity;
  /** Told about every record that reaches a final state (the local runtime prints it). */
  onFinished?: (record: CopyRecord) => void;
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
  positionClosed: 'close',
  orderPlaced: 'placeOrder',
  orderModified: 'modify',
  orderCancelled: 'cancelOrder',
  orderFilled: 'open',
};

/** Which link an event acts on: opens create one (and must find none), everything else needs one. */
const ticketOf = (event: MasterEvent): string => (event.order && event.kind !== 'orderFilled' ? event.order.id : event.position!.id);

type Outcome =
  | { status: 'placed'; result: TradeResult; link?: PositionLink; slaveSymbol?: string; side?: 'buy' | 'sell'; slaveVolume?: number }
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
  const opens = event.kind === 'positionOpened' || event.kind === 'orderPlaced';
  const started = deps.now();
  const source = event.kind === 'orderPlaced' || event.kind === 'orderModified' || event.kind === 'orderCancelled' ? event.order! : event.position!;
  // A master trade that is itself one of our copies: the record that placed it is where its
  // origin path starts (read with the rest of the context, in the same round trip).
  const masterClientId = opens && isCopyClientId(source.clientId) ? source.clientId : undefined;
  // Everything the record needs comes from the signal, so the claim and the reads of the
  // mapping, the slave and the link go to DynamoDB together: one round trip, not two.
  const draft: CopyRecord = {
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
    masterPositionId: event.position?.id,
    masterOrderId: event.order?.id,
    // A partial close records the volume the master closed, not what it kept.
    masterVolume: event.kind === 'positionPartiallyClosed' && event.previousVolume !== undefined
      ? Number((event.previousVolume - source.volume).toFixed(8))
      : source.volume,
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
      protection: opens,
      linkTicket: ticketOf(event),
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
  // The signal names the accounts; the mapping decides them. A signal whose accounts are not
  // the mapping's touches no broker, whatever account it names.
  const mismatch = mapping ? signalMismatch(signal, mapping) : undefined;
  if (mismatch) {
    deps.log.error('copy signal does not match its mapping', { tenantId: signal.tenantId, mappingId: signal.mappingId, mismatch });
    return finish(deps, record, { status: 'skipped', reason: 'SIGNAL_MISMATCH', detail: `the signal's ${mismatch} is not the mapping's` });
  }
  if (!mapping || !slave) {
    deps.log.info('copy signal for a removed mapping or account', { tenantId: signal.tenantId, mappingId: signal.mappingId });
    return finish(deps, record, { status: 'skipped', reason: 'MAPPING_REMOVED', detail: 'the mapping or its slave account was deleted' });
  }
  if (masterClientId) {
    const path = await originPath(deps, signal.tenantId, origin);
    const loop = loopOnOriginPath(path, mapping);
    if (loop) return finish(deps, record, { status: 'skipped', reason: 'COPY_LOOP', detail: loop });
  }
  const context = { tenantId: mapping.tenantId, accountId: slave.id, mappingId: mapping.id, masterPositionId: record.masterPositionId, clientId: record.clientId };

  let outcome: Outcome;
  const leaseEnds = started.getTime() + deps.leaseMs;
  try {
    outcome = await withDeadline(() => atBroker(deps, { event, mapping, slave, link, record, protection }, claim.resumed), deps.deadlineMs, `copy ${record.id}`);
  } catch (error) {
    if (error instanceof DeadlineExceededError) {
      // Let go without releasing: a broker call may still land. After the lease, the next
      // delivery looks the client id up before it sends anything.
      deps.log.warn('copy signal ran past its deadline', { ...context, deadlineMs: deps.deadlineMs });
      throw new CopyRetryLaterError(`copy ${record.id} ran past its deadline`, secondsUntil(leaseEnds, deps.now(), 1), { cause: error });
    }
    return await handleFailure(deps, record, error, context);
  }
  return finish(deps, record, outcome);
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

/** One claimed signal with everything read for it. */
interface CopyWork {
  event: MasterEvent;
  mapping: CopyMapping;
  slave: Account;
  link: PositionLink | undefined;
  record: CopyRecord;
  protection: AccountProtection | undefined;
}

/** Whole seconds from `now` until `at` (epoch ms), at least one; `fallback` when `at` is unknown. */
const secondsUntil = (at: number | undefined, now: Date, fallback: number): number =>
  at === undefined ? fallback : Math.max(1, Math.ceil((at - now.getTime()) / 1000));

/**
 * Everything a claimed signal does at the broker: a claim taken over from an attempt that may
 * have reached the broker looks the client id up first; an unknown outcome is looked up once
 * more before the record is left pending.
 */
const atBroker = async (deps: CopyDependencies, work: CopyWork, resumed: boolean): Promise<Outcome> => {
  const { event, mapping, slave, link, record } = work;
  const port = await deps.brokers.connect(slave);
  const earlier = resumed ? await port.findByClientId(record.clientId) : undefined;
  if (earlier && hasEffect(earlier)) return recovered(event, mapping, slave, link, earlier, deps.now());
  try {
    return await execute(deps, port, work, new Date(record.startedAt ?? deps.now().toISOString()));
  } catch (error) {
    // Outcome unknown (timeout, lost connection): look once right away; if the broker
    // shows nothing yet, the record stays pending and the next delivery looks again.
    if (!isBrokerError(error) || error.errorClass !== 'reconcile') throw error;
    const after = await port.findByClientId(record.clientId);
    if (!hasEffect(after)) throw error;
    return recovered(event, mapping, slave, link, after, deps.now());
  }
};

const hasEffect = (match: ClientIdMatch): boolean => match.positions.length + match.orders.length + match.deals.length > 0;

/** Builds the outcome of an earlier attempt that reached the broker, from what the broker shows. */
const recovered = (event: MasterEvent, mapping: CopyMapping, slave: Account, link: PositionLink | undefined, match: ClientIdMatch, now: Date): Outcome => {
  const position = match.positions[0];
  const order = match.orders[0];
  const deal = match.deals[0];
  const result: TradeResult = { positionId: position?.id ?? deal?.positionId, orderId: order?.id };
  const action = actionOf[event.kind];
  if (action === 'open' || action === 'placeOrder') {
    const opened = position ?? order;
    const volume = opened?.volume ?? deal?.volume ?? 0;
    const symbol = opened?.symbol ?? deal?.symbol ?? '';
    const side = opened?.side ?? deal?.side ?? 'buy';
    return {
      status: 'placed',
      result,
      slaveSymbol: symbol,
      side,
      slaveVolume: volume,
      link: newLink(event, mapping, slave, { ticket: order?.id ?? result.positionId ?? '', kind: order ? 'order' : 'position', symbol, side, volume }, now),
    };
  }
  return { status: 'placed', result, link: link ? afterChange(event, link, deal?.volume, now) : undefined };
};

const newLink = (
  event: MasterEvent,
  mapping: CopyMapping,
  slave: Account,
  opened: { ticket: string; kind: 'position' | 'order'; symbol: string; side: 'buy' | 'sell'; volume: number },
  now: Date,
): PositionLink => {
  const source = event.order && event.kind === 'orderPlaced' ? event.order : event.position!;
  return {
    tenantId: mapping.tenantId,
    mappingId: mapping.id,
    masterAccountId: mapping.masterAccountId,
    slaveAccountId: slave.id,
    masterTicket: source.id,
    kind: opened.kind,
    slaveTicket: opened.ticket,
    masterSymbol: source.symbol,
    slaveSymbol: opened.symbol,
    side: opened.side,
    // A partial close records the volume the master closed, not what it kept.
    masterVolume: event.kind === 'positionPartiallyClosed' && event.previousVolume !== undefined
      ? Number((event.previousVolume - source.volume).toFixed(8))
      : source.volume,
    slaveVolume: opened.volume,
    openedAt: now.toISOString(),
    appliedRev: source.rev,
  };
};

/** The link after a close, partial close or modification was applied. */
const afterChange = (event: MasterEvent, link: PositionLink, closedVolume: number | undefined, now: Date): PositionLink => {
  const rev = (event.position ?? event.order)?.rev ?? link.appliedRev;
  switch (event.kind) {
    case 'positionClosed':
    case 'orderCancelled':
      return { ...link, appliedRev: rev, closedAt: now.toISOString() };
    case 'positionPartiallyClosed': {
      const slaveVolume = Math.max(0, Number((link.slaveVolume - (closedVolume ?? 0)).toFixed(8)));
      return {
        ...link,
        appliedRev: rev,
        masterVolume: event.position!.volume,
        slaveVolume,
        ...(slaveVolume <= 0 ? { closedAt: now.toISOString() } : {}),
      };
    }
    default:
      return { ...link, appliedRev: Math.max(rev, link.appliedRev) };
  }
};

const execute = async (deps: CopyDependencies, port: BrokerPort, work: CopyWork, firstAttemptAt: Date): Promise<Outcome> => {
  const { event, mapping, slave, link, record, protection } = work;
  const now = deps.now();
  switch (event.kind) {
    case 'positionOpened':
    case 'orderPlaced': {
      const source = event.kind === 'orderPlaced' ? event.order! : event.position!;
      if (link && !link.closedAt) return { status: 'skipped', reason: 'ALREADY_COPIED', detail: `the slave already holds ${link.slaveTicket} for it`, slaveSymbol: link.slaveSymbol };
      const symbol = resolveSlaveSymbol(source.symbol, mapping.symbols);
      if (symbol.kind === 'skip') return { status: 'skipped', reason: symbol.reason, detail: symbol.detail };
      if (protection?.status.state === 'breached') {
        return { status: 'skipped', reason: 'PROTECTION_BREACHED', detail: protection.status.reason, slaveSymbol: symbol.slaveSymbol };
      }
      const spec = await deps.brokers.symbolSpec(slave, port, symbol.slaveSymbol);
      const needsFunds = ['balanceRatio', 'equityRatio', 'riskPercent'].includes(mapping.sizing.mode) || (protection !== undefined && needsEquity(protection.rules));
      const funds = needsFunds ? await port.getAccountInformation() : undefined;
      const plan = planOpen(event, { mapping, slaveSymbol: symbol.slaveSymbol, spec, slaveBalance: funds?.balance, slaveEquity: funds?.equity, firstAttemptAt });
      if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, slaveSymbol: symbol.slaveSymbol };
      const trade = { ...plan.trade };
      if (protection && spec) {
        const current = funds && needsEquity(protection.rules) ? await markSlaveEquity(deps, slave, protection, funds.equity) : protection;
        const exposure = needsExposure(protection.rules) ? await port.getPositions() : undefined;
        const verdict = checkOpen(current.rules, current.status, {
          symbol: trade.symbol,
          volume: trade.volume,
          at: now,
          spec,
          openPositions: exposure?.length,
          openVolume: exposure?.reduce((sum, position) => sum + position.volume, 0),
        });
        if (verdict.kind === 'skip') return { status: 'skipped', reason: verdict.reason, detail: verdict.detail, slaveSymbol: symbol.slaveSymbol };
        trade.volume = verdict.volume;
      }
      record.sentAt = deps.now().toISOString();
      const result = await withQuickRetries(() => port.placeOrder({ clientId: record.clientId, ...trade }));
      const ticket = trade.type === 'market' ? result.positionId : result.orderId;
      if (!ticket) throw new BrokerError('UNKNOWN', 'broker accepted the order but returned no ticket');
      return {
        status: 'placed',
        result,
        slaveSymbol: trade.symbol,
        side: trade.side,
        slaveVolume: trade.volume,
        link: newLink(event, mapping, slave, { ticket, kind: trade.type === 'market' ? 'position' : 'order', symbol: trade.symbol, side: trade.side, volume: trade.volume }, now),
      };
    }
    case 'positionClosed':
    case 'positionPartiallyClosed':
    case 'positionModified':
    case 'orderModified':
    case 'orderCancelled': {
      if (!link || link.closedAt) return { status: 'skipped', reason: 'NOT_COPIED', detail: 'no open copy of this master ticket' };
      const base = { slaveSymbol: link.slaveSymbol };
      if (event.kind === 'positionClosed') {
        record.sentAt = deps.now().toISOString();
        const closed = await alreadyGone(() => withQuickRetries(() => port.closePosition(link.slaveTicket, { clientId: record.clientId })), 'POSITION_NOT_FOUND');
        if (!closed) return { status: 'skipped', reason: 'ALREADY_CLOSED', ...base, link: afterChange(event, link, link.slaveVolume, now) };
        return { status: 'placed', result: closed, ...base, side: link.side, slaveVolume: link.slaveVolume, link: afterChange(event, link, link.slaveVolume, now) };
      }
      if (event.kind === 'positionPartiallyClosed') {
        const spec = await deps.brokers.symbolSpec(slave, port, link.slaveSymbol);
        if (!spec) return { status: 'skipped', reason: 'SYMBOL_NOT_AT_BROKER', ...base };
        const plan = planPartialClose(link, event.previousVolume ?? link.masterVolume, event.position!.volume, spec);
        if (plan.kind === 'skip') return { status: 'skipped', reason: plan.reason, detail: plan.detail, ...base };
        record.sentAt = deps.now().toISOString();
        const options = plan.full ? { clientId: record.clientId } : { clientId: record.clientId, volume: plan.volume };
        const closed = await alreadyGone(() => withQuickRetries(() => port.closePosition(link.slaveTicket, options)), 'POSITION_NOT_FOUND');
        if (!closed) return { status: 'skipped', reason: 'ALREADY_CLOSED', ...base, link: afterChange({ ...event, kind: 'positionClosed' }, link, undefined, now) };
        return { status: 'placed', result: closed, ...base, side: link.side, slaveVolume: plan.volume, link: afterChange(event, link, plan.volume, now) };
      }
      if (event.kind === 'orderCancelled') {
        record.sentAt = deps.now().toISOString();
        const cancelled = await alreadyGone(async () => {
          await withQuickRetries(() => port.cancelOrder(link.slaveTicket));
          return {};
        }, 'ORDER_NOT_FOUND');
        const closedLink = afterChange(event, link, undefined, now);
        if (!cancelled) return { status: 'skipped', reason: 'ALREADY_CLOSED', ...base, link: closedLink };
        return { status: 'placed', result: { orderId: link.slaveTicket }, ...base, side: link.side, link: closedLink };
      }
      const source = event.kind === 'orderModified' ? event.order! : event.position!;
      const stops = applyDirection({ side: source.side, type: 'market', stopLoss: source.stopLoss, takeProfit: source.takeProfit }, mapping);
      const levels = {
        stopLoss: mapping.copyStopLoss ? (stops.stopLoss ?? null) : undefined,
        takeProfit: mapping.copyTakeProfit ? (stops.takeProfit ?? null) : undefined,
      };
      record.sentAt = deps.now().toISOString();
      if (event.kind === 'orderModified') await withQuickRetries(() => port.modifyOrder(link.slaveTicket, { price: event.order!.price, ...levels }));
      else await withQuickRetries(() => port.modifyPosition(link.slaveTicket, levels));
      return { status: 'placed', result: {}, ...base, side: link.side, link: afterChange(event, link, undefined, now) };
    }
    case 'orderFilled': {
      // The slave's copy of the pending order fills at its own broker by itself; the link
      // follows it from the order to the position it became.
      if (!link || link.closedAt) return { status: 'skipped', reason: 'NOT_COPIED', detail: 'the pending order was not copied' };
      const match = await port.findByClientId(copyClientId(mapping.id, `orderPlaced:${link.masterTicket}:0`));
      const position = match.positions[0];
      if (!position) throw new CopyRetryLaterError('the slave order has not filled yet', 10);
      const moved: PositionLink = { ...link, masterTicket: event.filledPositionId!, kind: 'position', slaveTicket: position.id, appliedRev: 0 };
      return { status: 'placed', result: { positionId: position.id }, slaveSymbol: link.slaveSymbol, side: link.side, slaveVolume: position.volume, link: moved };
    }
  }
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

const finish = async (deps: CopyDependencies, record: CopyRecord, outcome: Outcome): Promise<CopyRecord> => {
  const completed = deps.now();
  const final: CopyRecord = {
    ...record,
    status: outcome.status,
    reason: outcome.status === 'skipped' ? outcome.reason : undefined,
    reasonDetail: outcome.status === 'skipped' ? outcome.detail : undefined,
    slaveSymbol: outcome.slaveSymbol ?? record.slaveSymbol,
    side: outcome.status === 'placed' ? (outcome.side ?? record.side) : record.side,
    slavePositionId: outcome.status === 'placed' ? (outcome.result.positionId ?? outcome.link?.slaveTicket) : undefined,
    slaveOrderId: outcome.status === 'placed' ? outcome.result.orderId : undefined,
    slaveVolume: outcome.status === 'placed' ? outcome.slaveVolume : undefined,
    completedAt: completed.toISOString(),
    latencyMs: completed.getTime() - Date.parse(record.detectedAt),
  };
  if (final.slavePositionId === undefined && outcome.link?.kind === 'order') final.slaveOrderId ??= outcome.link.slaveTicket;
  const audit: AuditEntry | undefined =
    outcome.status === 'placed'
      ? {
          tenantId: record.tenantId,
          at: final.completedAt!,
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
  deps.onFinished?.(final);
  return final;
};

const handleFailure = async (
  deps: CopyDependencies,
  record: CopyRecord,
  error: unknown,
  context: Record<string, unknown>,
): Promise<CopyRecord> => {
  if (error instanceof CopyRetryLaterError) {
    await deps.copies.release(record);
    throw error;
  }
  if (!isBrokerError(error)) {
    await deps.copies.release(record);
    throw error;
  }
  deps.log.warn('broker refused a copy', { ...context, code: error.code, errorClass: error.errorClass });
  switch (error.errorClass) {
    case 'terminal': {
      const completed = deps.now();
      const failed: CopyRecord = {
        ...record,
        status: 'failed',
        reason: error.reason,
        reasonDetail: error.message,
        completedAt: completed.toISOString(),
        latencyMs: completed.getTime() - Date.parse(record.detectedAt),
      };
      await deps.copies.finish(failed);
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
      throw new CopyRetryLaterError(`deferred: ${error.code}`, 60, { cause: error });
    case 'retry':
      await deps.copies.release(record);
      throw new CopyRetryLaterError(`broker asked to retry: ${error.code}`, Math.ceil((error.retryAfterMs ?? 5000) / 1000), { cause: error });
  }
};
