import type { Account } from '../domain/account';
import type { CopyMapping } from '../domain/copy-mapping';
import type { PositionLink } from '../domain/position-link';
import type { MasterEvent } from '../domain/master-events';
import type { AccountProtection } from '../domain/protection';
import { markEquity } from '../domain/protection-rules';
import type { Log } from '../ports/log';
import type { CopySignal, CopyStore, MappingStore, ProtectionStore, SignalQueue } from '../ports/stores';

export interface ProtectionDependencies {
  mappings: MappingStore;
  copies: CopyStore;
  protections: ProtectionStore;
  queue: SignalQueue;
  now: () => Date;
  log: Log;
}

/**
 * After a breach with `onBreach: "closeAll"`, queues a close of every position (and a
 * cancel of every pending order) the system copied onto the slave. The closes travel the
 * normal copy path in the slave's FIFO group, so they are recorded, exactly once, after
 * whatever was queued for that slave before. Their event ids carry the breach time: a second
 * breach after a reset closes again, the same breach never twice.
 */
export const closeAllCopies = async (deps: ProtectionDependencies, tenantId: string, slaveAccountId: string, breachedAt: string): Promise<number> => {
  const mappings = (await deps.mappings.listAll(tenantId)).filter((mapping) => mapping.slaveAccountId === slaveAccountId);
  const signals: CopySignal[] = [];
  for (const mapping of mappings) {
    const links = await deps.copies.listOpenLinks(tenantId, mapping.id);
    signals.push(...closeSignalsFor(mapping, links, { cause: 'protection', at: breachedAt, enqueuedAt: deps.now().toISOString() }));
  }
  if (signals.length > 0) await deps.queue.send(signals);
  return signals.length;
};

/**
 * A close of every open copy of a mapping (a cancel for a pending order), as the copy
 * worker takes a master's close: through the slave's FIFO group, recorded, exactly once. The
 * event ids carry the cause and its time: the same request never closes twice, a later one
 * closes what is open then.
 */
export const closeSignalsFor = (
  mapping: Pick<CopyMapping, 'id' | 'tenantId' | 'masterAccountId' | 'slaveAccountId'>,
  links: readonly PositionLink[],
  request: { cause: 'protection' | 'mapping'; at: string; enqueuedAt: string },
): CopySignal[] =>
  links.map((link) => {
    const base = { tenantId: mapping.tenantId, masterAccountId: mapping.masterAccountId, detectedAt: request.at };
    const tracked = {
      symbol: link.masterSymbol ?? link.slaveSymbol,
      side: link.side,
      volume: link.masterVolume,
      rev: link.appliedRev + 1,
      detectedAt: request.at,
    };
    const event: MasterEvent =
      link.kind === 'position'
        ? {
            ...base,
            id: `${request.cause}Close:${link.masterTicket}:${request.at}`,
            kind: 'positionClosed',
            position: { ...tracked, id: link.masterTicket, openPrice: 0, openedAt: link.openedAt },
          }
        : {
            ...base,
            id: `${request.cause}Cancel:${link.masterTicket}:${request.at}`,
            kind: 'orderCancelled',
            order: { ...tracked, id: link.masterTicket, type: 'limit', price: 0, createdAt: link.openedAt },
          };
    return {
      tenantId: mapping.tenantId,
      mappingId: mapping.id,
      masterAccountId: mapping.masterAccountId,
      slaveAccountId: mapping.slaveAccountId,
      event,
      enqueuedAt: request.enqueuedAt,
    };
  });

/**
 * Marks a slave's equity against its loss rules (on every slave sync and before every
 * open). Writes the status only when it changed; on a new breach records it and, with
 * `closeAll`, flattens what was copied. Returns the protection as it now stands.
 */
export const markSlaveEquity = async (
  deps: ProtectionDependencies,
  account: Pick<Account, 'tenantId' | 'id'>,
  protection: AccountProtection,
  equity: number,
  balance?: number,
): Promise<AccountProtection> => {
  const marked = markEquity(protection.rules, protection.status, equity, deps.now(), balance);
  const before = protection.status;
  const changed =
    marked.breach !== undefined ||
    before.dayStart?.date !== marked.status.dayStart?.date ||
    (marked.status.peakEquity ?? 0) > (before.peakEquity ?? 0) + 1e-9 ||
    JSON.stringify(before.lossLimits) !== JSON.stringify(marked.status.lossLimits) ||
    before.initialCapital !== marked.status.initialCapital;
  if (!changed) return protection;
  if (marked.breach) {
    deps.log.warn('protection breached', { tenantId: account.tenantId, accountId: account.id, reason: marked.status.reason });
    // The closes are queued before the breach is written: a send that fails leaves the status
    // as it was, so the next mark finds the breach again and queues them again. Written first,
    // a failed send would leave a breached slave with its positions open, and nothing to retry.
    if (protection.rules.onBreach === 'closeAll')
      await closeAllCopies(deps, account.tenantId, account.id, marked.status.breachedAt ?? deps.now().toISOString());
  }
  await deps.protections.updateStatus(account.tenantId, account.id, marked.status);
  return { ...protection, status: marked.status };
};
