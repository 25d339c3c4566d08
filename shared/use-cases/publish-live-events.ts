import { toPublicAccount, type Account } from '../domain/account';
import { toPublicCopyRecord, type CopyRecord } from '../domain/copy-record';
import { rolesOf, type LiveEvent, type TenantEvent } from '../domain/live-events';
import type { AccountProtection } from '../domain/protection';
import type { LiveConnections } from '../ports/live-connections';
import type { Log } from '../ports/log';
import type { MappingStore } from '../ports/stores';

/**
 * One change of one item of the main table, as a DynamoDB stream reports it (new and old
 * images), already converted to plain values with the storage keys taken off. `entity` says
 * what the item is (`account`, `copy`, `protection`, ...).
 */
export interface ItemChange {
  entity?: string;
  oldImage?: Record<string, unknown>;
  newImage?: Record<string, unknown>;
}

const FINAL_STATUSES = new Set(['placed', 'skipped', 'failed']);

/** What a lease-holding worker keeps on a copy record for itself. */
const withoutWorkerFields = (record: Record<string, unknown>): CopyRecord => {
  const { leaseUntil: _l, workerEpoch: _w, ...rest } = record;
  return rest as unknown as CopyRecord;
};

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** An event still waiting for the account's roles (read once per tenant, only for a watched tenant). */
type Pending = { tenantId: string; event: LiveEvent } | { tenantId: string; account: Account };

/**
 * What the frontend is told of a change: a copy that left `pending` (copy.finished), an
 * account whose visible fields changed (account.updated), a protection that went from ok to
 * breached (protection.breached). Anything else tells nothing.
 */
const eventOf = (change: ItemChange): Pending | undefined => {
  const { entity, oldImage, newImage } = change;
  if (!newImage) return undefined;
  const tenantId = newImage.tenantId;
  if (typeof tenantId !== 'string') return undefined;
  if (entity === 'copy') {
    const record = withoutWorkerFields(newImage);
    if (!FINAL_STATUSES.has(record.status)) return undefined;
    if (oldImage && FINAL_STATUSES.has(String(oldImage.status))) return undefined;
    const at = 'completedAt' in record ? record.completedAt : new Date().toISOString();
    return { tenantId, event: { type: 'copy.finished', at, data: toPublicCopyRecord(record) } };
  }
  if (entity === 'account') {
    const account = newImage as unknown as Account;
    if (oldImage && sameJson(toPublicAccount(oldImage as unknown as Account), toPublicAccount(account))) return undefined;
    return { tenantId, account };
  }
  if (entity === 'protection') {
    const protection = newImage as unknown as AccountProtection;
    const before = (oldImage as unknown as AccountProtection | undefined)?.status?.state;
    if (protection.status?.state !== 'breached' || before === 'breached') return undefined;
    return {
      tenantId,
      event: {
        type: 'protection.breached',
        at: protection.status.breachedAt ?? protection.updatedAt,
        data: { accountId: protection.accountId, reason: protection.status.reason ?? 'PROTECTION_BREACHED' },
      },
    };
  }
  return undefined;
};

export interface PublishDependencies {
  connections: LiveConnections;
  mappings: Pick<MappingStore, 'listAll'>;
  log: Log;
}

/**
 * Tells each tenant's open connections what changed, in the order of the changes. Runs off
 * the copy path (a DynamoDB stream's consumer): a slow or gone connection never holds a copy
 * up. Tenants no one watches cost one lookup and nothing more.
 */
export const publishLiveEvents = async (deps: PublishDependencies, changes: readonly ItemChange[]): Promise<TenantEvent[]> => {
  const byTenant = new Map<string, Pending[]>();
  for (const change of changes) {
    const pending = eventOf(change);
    if (!pending) continue;
    byTenant.set(pending.tenantId, [...(byTenant.get(pending.tenantId) ?? []), pending]);
  }
  const sent: TenantEvent[] = [];
  for (const [tenantId, pendings] of byTenant) {
    try {
      if (!(await deps.connections.watched(tenantId))) continue;
      const mappings = pendings.some((pending) => 'account' in pending) ? await deps.mappings.listAll(tenantId) : [];
      const events = pendings.map((pending): LiveEvent => {
        if ('event' in pending) return pending.event;
        const data = { ...toPublicAccount(pending.account), roles: rolesOf(pending.account.id, mappings) };
        return { type: 'account.updated', at: pending.account.updatedAt, data };
      });
      await deps.connections.send(tenantId, events);
      sent.push(...events.map((event) => ({ tenantId, event })));
    } catch (error) {
      // Live events are a convenience of the frontend; the record of truth is the API.
      deps.log.warn('live events not delivered', { tenantId, events: pendings.length, error });
    }
  }
  return sent;
};
