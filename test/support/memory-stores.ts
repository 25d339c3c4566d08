import { copyClientId, copyRecordId, type CopyRecord, type FinalCopyRecord, type PendingCopyRecord } from '../../shared/domain/copy-record';
import { brokerLoginKey, type Account } from '../../shared/domain/account';
import type { AccountBook } from '../../shared/domain/account-book';
import type { CopyMapping } from '../../shared/domain/copy-mapping';
import { ConcurrentUpdateError, ConflictError, NotFoundError, QuotaExceededError } from '../../shared/domain/errors';
import type { PositionLink } from '../../shared/domain/position-link';
import { defaultProtectionStatus, type AccountProtection, type ProtectionStatus } from '../../shared/domain/protection';
import type { CredentialCipher, CredentialContext } from '../../shared/ports/credential-cipher';
import type { EquityPoint } from '../../shared/domain/trade-stats';
import type { Deal, HistoryTrade } from '../../shared/domain/trading';
import type {
  AccountStore,
  EquityInterval,
  HistoryCursor,
  TradeHistoryStore,
  AuditEntry,
  CopyEffects,
  AuditLog,
  BookStore,
  ClaimOptions,
  ClaimResult,
  CopyContext,
  CopyContextLoader,
  CopyContextRequest,
  CopyFilter,
  CopySignal,
  CopyStore,
  MappingGraph,
  MappingStore,
  Page,
  PageRequest,
  ProtectionStore,
  ShardLease,
  ShardLeaseStore,
  SignalQueue,
  SyncShardContents,
} from '../../shared/ports/stores';

/**
 * In-memory adapters of the store and queue ports, for fast property tests of the use cases.
 * Each keeps the semantics its DynamoDB or SQS adapter has (conditional writes, leases and
 * fencing, graph versions, FIFO groups, deduplication), and the same contract suites run over
 * both. Every call yields to the event loop first, as a network round trip would, so
 * concurrent callers interleave the way they do against the real services.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const clone = <T>(value: T): T => structuredClone(value);
const key = (...parts: string[]) => parts.join('|');

const pageOf = <T>(items: T[], request: PageRequest): Page<T> => {
  const start = request.cursor ? Number(Buffer.from(request.cursor, 'base64url').toString('utf8')) : 0;
  const slice = items.slice(start, start + request.limit);
  const next = start + request.limit;
  return next < items.length ? { items: slice, nextCursor: Buffer.from(String(next)).toString('base64url') } : { items: slice };
};

export class MemoryAccountStore implements AccountStore {
  readonly accounts = new Map<string, Account>();
  private readonly logins = new Map<string, string>();

  constructor(private readonly graphs: MemoryMappingStore) {}

  async create(account: Account, options: { maxAccounts?: number } = {}): Promise<void> {
    await turn();
    if (this.accounts.has(key(account.tenantId, account.id))) throw new ConflictError(`account ${account.id} exists`);
    const held = [...this.accounts.values()].filter((other) => other.tenantId === account.tenantId).length;
    if (options.maxAccounts !== undefined && held >= options.maxAccounts)
      throw new QuotaExceededError('MAX_ACCOUNTS_PER_TENANT', options.maxAccounts, 'accounts');
    const login = key(account.tenantId, brokerLoginKey(account));
    if (this.logins.has(login)) throw new ConflictError(`This tenant already has the ${account.platform} account ${account.login} on ${account.server}`);
    this.logins.set(login, account.id);
    this.accounts.set(key(account.tenantId, account.id), clone(account));
  }

  async get(tenantId: string, accountId: string): Promise<Account | undefined> {
    await turn();
    const account = this.accounts.get(key(tenantId, accountId));
    return account ? clone(account) : undefined;
  }

  async list(tenantId: string, page: PageRequest): Promise<Page<Account>> {
    await turn();
    return pageOf([...this.accounts.values()].filter((a) => a.tenantId === tenantId).map(clone), page);
  }

  async update(tenantId: string, accountId: string, changes: Partial<Account>): Promise<Account> {
    await turn();
    const before = this.accounts.get(key(tenantId, accountId));
    if (!before) throw new NotFoundError('account');
    const { id: _i, tenantId: _t, createdAt: _c, platform: _p, login: _l, ...settable } = changes;
    const after: Account = { ...before, ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() };
    for (const [field, value] of Object.entries(settable)) if (value === undefined) delete (after as unknown as Record<string, unknown>)[field];
    const [from, to] = [key(tenantId, brokerLoginKey(before)), key(tenantId, brokerLoginKey(after))];
    if (from !== to) {
      if (this.logins.has(to)) throw new ConflictError(`This tenant already has the ${after.platform} account ${after.login} on ${after.server}`);
      this.logins.delete(from);
      this.logins.set(to, accountId);
    }
    this.accounts.set(key(tenantId, accountId), after);
    return clone(after);
  }

  async delete(tenantId: string, accountId: string, options: { graphVersion?: number } = {}): Promise<void> {
    await turn();
    const account = this.accounts.get(key(tenantId, accountId));
    if (!account) return;
    if (options.graphVersion !== undefined) this.graphs.move(tenantId, options.graphVersion);
    this.accounts.delete(key(tenantId, accountId));
    this.logins.delete(key(tenantId, brokerLoginKey(account)));
  }

  async listSyncShard(shard: number, shards: number): Promise<SyncShardContents> {
    await turn();
    const inShard = (id: string) => [...id].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) >>> 0, 0) % shards === shard;
    return {
      accounts: [...this.accounts.values()].filter((a) => inShard(a.id)).map(clone),
      mappings: [...this.graphs.mappings.values()].filter((m) => inShard(m.masterAccountId)).map(clone),
    };
  }
}

export class MemoryMappingStore implements MappingStore {
  readonly mappings = new Map<string, CopyMapping>();
  private readonly versions = new Map<string, number>();

  /** Moves a tenant's graph from `version` to the next, or throws ConcurrentUpdateError. */
  move(tenantId: string, version: number): void {
    if ((this.versions.get(tenantId) ?? 0) !== version) throw new ConcurrentUpdateError(`the mapping graph of ${tenantId} moved past version ${version}`);
    this.versions.set(tenantId, version + 1);
  }

  async create(mapping: CopyMapping, options: { graphVersion: number }): Promise<void> {
    await turn();
    if (this.mappings.has(key(mapping.tenantId, mapping.id))) throw new ConflictError(`mapping ${mapping.id} exists`);
    this.move(mapping.tenantId, options.graphVersion);
    this.mappings.set(key(mapping.tenantId, mapping.id), clone(mapping));
  }

  async get(tenantId: string, mappingId: string): Promise<CopyMapping | undefined> {
    await turn();
    const mapping = this.mappings.get(key(tenantId, mappingId));
    return mapping ? clone(mapping) : undefined;
  }

  async list(tenantId: string, page: PageRequest): Promise<Page<CopyMapping>> {
    return pageOf(await this.listAll(tenantId), page);
  }

  async listAll(tenantId: string): Promise<CopyMapping[]> {
    await turn();
    return [...this.mappings.values()]
      .filter((m) => m.tenantId === tenantId)
      .sort((a, b) => a.id.localeCompare(b.id))
      .map(clone);
  }

  async graph(tenantId: string): Promise<MappingGraph> {
    await turn();
    const version = this.versions.get(tenantId) ?? 0;
    return { version, mappings: await this.listAll(tenantId) };
  }

  async update(tenantId: string, mappingId: string, changes: Partial<CopyMapping>, options: { enabledAt?: string } = {}): Promise<CopyMapping> {
    await turn();
    const before = this.mappings.get(key(tenantId, mappingId));
    if (!before) throw new NotFoundError('copy mapping');
    const { id: _i, tenantId: _t, createdAt: _c, masterAccountId: _m, slaveAccountId: _s, activeSince: _a, announcedSince: _n, ...settable } = changes;
    const after: CopyMapping = { ...before, ...settable, updatedAt: changes.updatedAt ?? new Date().toISOString() };
    for (const [field, value] of Object.entries(settable)) if (value === undefined) delete (after as unknown as Record<string, unknown>)[field];
    if (options.enabledAt !== undefined && changes.enabled === true && !before.enabled) after.activeSince = options.enabledAt;
    this.mappings.set(key(tenantId, mappingId), after);
    return clone(after);
  }

  async markAnnounced(tenantId: string, mappingId: string, activeSince: string): Promise<void> {
    await turn();
    const mapping = this.mappings.get(key(tenantId, mappingId));
    if (mapping && (mapping.activeSince ?? mapping.createdAt) === activeSince) mapping.announcedSince = activeSince;
  }

  async delete(tenantId: string, mappingId: string): Promise<void> {
    await turn();
    this.mappings.delete(key(tenantId, mappingId));
  }
}

export class MemoryBookStore implements BookStore {
  readonly books = new Map<string, AccountBook>();

  async get(tenantId: string, accountId: string): Promise<AccountBook | undefined> {
    await turn();
    const book = this.books.get(key(tenantId, accountId));
    return book ? clone(book) : undefined;
  }

  async put(book: AccountBook): Promise<void> {
    await turn();
    const stored = this.books.get(key(book.tenantId, book.accountId));
    if ((stored?.version ?? 0) !== book.version - 1) throw new ConcurrentUpdateError(`book of ${book.accountId} moved past version ${book.version - 1}`);
    this.books.set(key(book.tenantId, book.accountId), clone(book));
  }
}

interface Lease {
  leaseUntil?: number;
  workerEpoch?: number;
}
type StoredRecord = CopyRecord & Lease;

export class MemoryCopyStore implements CopyStore {
  readonly records = new Map<string, StoredRecord>();
  readonly links = new Map<string, PositionLink>();
  readonly audit: AuditEntry[] = [];

  async claim(record: PendingCopyRecord, options: ClaimOptions): Promise<ClaimResult> {
    await turn();
    const id = key(record.tenantId, record.clientId);
    const existing = this.records.get(id);
    const now = options.now.getTime();
    const epoch = options.worker?.epoch ?? 0;
    if (existing && existing.status !== 'pending') return { outcome: 'done', record: withoutLease(existing) };
    const superseded = options.worker?.supersedes === true && (existing?.workerEpoch ?? -1) < epoch;
    if (existing && (existing.leaseUntil ?? 0) >= now && !superseded) return { outcome: 'busy', leaseUntil: existing.leaseUntil };
    const claimed: PendingCopyRecord & Lease = existing
      ? { ...existing, attempts: existing.attempts + 1, leaseUntil: now + options.leaseMs, workerEpoch: epoch }
      : { ...clone(record), status: 'pending', attempts: 1, leaseUntil: now + options.leaseMs, workerEpoch: epoch };
    this.records.set(id, claimed);
    return { outcome: 'claimed', record: withoutLease(claimed), resumed: claimed.attempts > 1 };
  }

  async finish(record: FinalCopyRecord, effects: CopyEffects = {}): Promise<void> {
    await turn();
    const id = key(record.tenantId, record.clientId);
    const stored = this.records.get(id);
    if (stored?.status !== 'pending' || stored.attempts !== record.attempts) throw new ConcurrentUpdateError(`copy record ${record.id} was taken over`);
    const refusedLink =
      effects.refusedClose && this.links.get(key(effects.refusedClose.tenantId, effects.refusedClose.mappingId, effects.refusedClose.masterTicket));
    if (effects.refusedClose && !refusedLink) throw new ConcurrentUpdateError(`the link of ${effects.refusedClose.masterTicket} is gone`);
    const { attempts: _a, tenantId: _t, mappingId: _m, eventId: _e, clientId: _c, ...changes } = record;
    const finished: StoredRecord = { ...stored };
    for (const [field, value] of Object.entries(changes)) if (value !== undefined) (finished as unknown as Record<string, unknown>)[field] = value;
    delete finished.leaseUntil;
    delete finished.workerEpoch;
    this.records.set(id, finished);
    if (effects.link) this.links.set(key(effects.link.tenantId, effects.link.mappingId, effects.link.masterTicket), clone(effects.link));
    if (refusedLink && effects.refusedClose) refusedLink.closeRefused = clone(effects.refusedClose.refused);
    if (effects.audit) this.audit.push(clone(effects.audit));
  }

  async release(record: PendingCopyRecord): Promise<void> {
    await turn();
    const stored = this.records.get(key(record.tenantId, record.clientId));
    if (stored && stored.status === 'pending' && stored.attempts === record.attempts) stored.leaseUntil = 0;
  }

  async getLink(tenantId: string, mappingId: string, masterTicket: string): Promise<PositionLink | undefined> {
    await turn();
    const link = this.links.get(key(tenantId, mappingId, masterTicket));
    return link ? clone(link) : undefined;
  }

  async relinkLegs(changes: readonly { before: PositionLink; after: PositionLink }[]): Promise<void> {
    await turn();
    for (const { before } of changes) {
      const stored = this.links.get(key(before.tenantId, before.mappingId, before.masterTicket));
      if (
        !stored ||
        stored.closedAt ||
        stored.slaveTicket !== before.slaveTicket ||
        stored.slaveVolume !== before.slaveVolume ||
        stored.appliedRev !== before.appliedRev
      ) {
        throw new ConcurrentUpdateError(`the links of ${changes.map((change) => change.before.masterTicket).join(', ')} moved on`);
      }
    }
    for (const { after } of changes) this.links.set(key(after.tenantId, after.mappingId, after.masterTicket), clone(after));
  }

  async listOpenLinks(tenantId: string, mappingId: string): Promise<PositionLink[]> {
    await turn();
    return [...this.links.values()].filter((l) => l.tenantId === tenantId && l.mappingId === mappingId && !l.closedAt).map(clone);
  }

  async listByMapping(tenantId: string, mappingId: string, page: PageRequest): Promise<Page<CopyRecord>> {
    await turn();
    const records = [...this.records.values()]
      .filter((r) => r.tenantId === tenantId && r.mappingId === mappingId)
      .sort((a, b) => `${b.detectedAt}#${b.id}`.localeCompare(`${a.detectedAt}#${a.id}`))
      .map(withoutLease);
    return pageOf(records, page);
  }

  async list(tenantId: string, filter: CopyFilter, page: PageRequest): Promise<Page<CopyRecord>> {
    await turn();
    const records = [...this.records.values()]
      .filter(
        (r) =>
          r.tenantId === tenantId &&
          (filter.mappingId === undefined || r.mappingId === filter.mappingId) &&
          (filter.status === undefined || r.status === filter.status) &&
          (filter.accountId === undefined || r.masterAccountId === filter.accountId || r.slaveAccountId === filter.accountId) &&
          (filter.from === undefined || r.detectedAt >= filter.from) &&
          (filter.to === undefined || r.detectedAt < filter.to),
      )
      .sort((a, b) => `${b.detectedAt}#${b.id}`.localeCompare(`${a.detectedAt}#${a.id}`))
      .map(withoutLease);
    return pageOf(records, page);
  }

  async get(tenantId: string, mappingId: string, eventId: string): Promise<CopyRecord | undefined> {
    return this.findByClientId(tenantId, copyClientId(mappingId, eventId));
  }

  async findByClientId(tenantId: string, clientId: string): Promise<CopyRecord | undefined> {
    await turn();
    const stored = this.records.get(key(tenantId, clientId));
    return stored ? withoutLease(stored) : undefined;
  }
}

const withoutLease = <R extends CopyRecord>(stored: R & Lease): R => {
  const { leaseUntil: _l, workerEpoch: _w, ...record } = stored;
  return clone(record) as unknown as R;
};

export class MemoryProtectionStore implements ProtectionStore {
  readonly protections = new Map<string, AccountProtection>();

  async get(tenantId: string, accountId: string): Promise<AccountProtection | undefined> {
    await turn();
    const protection = this.protections.get(key(tenantId, accountId));
    return protection ? clone(protection) : undefined;
  }

  async put(protection: Omit<AccountProtection, 'status'> & { status?: ProtectionStatus }): Promise<void> {
    await turn();
    const before = this.protections.get(key(protection.tenantId, protection.accountId));
    this.protections.set(
      key(protection.tenantId, protection.accountId),
      clone({ ...protection, status: protection.status ?? before?.status ?? defaultProtectionStatus }),
    );
  }

  async updateStatus(tenantId: string, accountId: string, status: ProtectionStatus): Promise<void> {
    await turn();
    const before = this.protections.get(key(tenantId, accountId));
    if (!before) throw new NotFoundError('protection');
    this.protections.set(key(tenantId, accountId), { ...before, status: clone(status) });
  }

  async delete(tenantId: string, accountId: string): Promise<void> {
    await turn();
    this.protections.delete(key(tenantId, accountId));
  }
}

/** The copy worker's one-round-trip read, over the memory stores. */
export class MemoryCopyContextLoader implements CopyContextLoader {
  constructor(
    private readonly stores: { mappings: MemoryMappingStore; accounts: MemoryAccountStore; protections: MemoryProtectionStore; copies: MemoryCopyStore },
  ) {}

  async load(tenantId: string, request: CopyContextRequest): Promise<CopyContext> {
    await turn();
    const mapping = this.stores.mappings.mappings.get(key(tenantId, request.mappingId));
    const slave = this.stores.accounts.accounts.get(key(tenantId, request.slaveAccountId));
    const protection = request.protection ? this.stores.protections.protections.get(key(tenantId, request.slaveAccountId)) : undefined;
    const link = request.linkTicket !== undefined ? this.stores.copies.links.get(key(tenantId, request.mappingId, request.linkTicket)) : undefined;
    const origin = request.originClientId !== undefined ? this.stores.copies.records.get(key(tenantId, request.originClientId)) : undefined;
    return clone({ mapping, slave, protection, link, origin: origin ? withoutLease(origin) : undefined });
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly entries: (AuditEntry & { id: string })[] = [];

  async append(entry: AuditEntry): Promise<void> {
    await turn();
    this.entries.push({ ...clone(entry), id: String(this.entries.length + 1) });
  }

  async list(tenantId: string, page: PageRequest): Promise<Page<AuditEntry & { id: string }>> {
    await turn();
    return pageOf(this.entries.filter((e) => e.tenantId === tenantId).reverse(), page);
  }
}

/** Not encryption: a reversible wrapper bound to its context, enough for tests of the use cases. */
export class MemoryCipher implements CredentialCipher {
  async encrypt(plaintext: string, context: CredentialContext): Promise<string> {
    return Buffer.from(JSON.stringify({ context, plaintext })).toString('base64');
  }

  async decrypt(ciphertext: string, context: CredentialContext): Promise<string> {
    const sealed = JSON.parse(Buffer.from(ciphertext, 'base64').toString('utf8')) as { context: CredentialContext; plaintext: string };
    if (sealed.context.tenantId !== context.tenantId || sealed.context.accountId !== context.accountId) throw new Error('InvalidCiphertextException');
    return sealed.plaintext;
  }
}

interface QueuedSignal {
  signal: CopySignal;
  group: string;
  receives: number;
  visibleAt: number;
}

/**
 * The FIFO copy queue: grouped by slave account (a group delivers one message at a time, in
 * order), deduplicated by (mapping, event) within SQS's five-minute window, and a message not
 * deleted comes back after its visibility timeout.
 */
export class MemorySignalQueue implements SignalQueue {
  private readonly messages: QueuedSignal[] = [];
  private readonly sent = new Map<string, number>();
  private readonly inFlight = new Set<string>();

  constructor(private readonly now: () => Date) {}

  async send(signals: CopySignal[]): Promise<void> {
    await turn();
    const now = this.now().getTime();
    for (const signal of signals) {
      const dedup = copyRecordId(signal.mappingId, signal.event.id);
      if ((this.sent.get(dedup) ?? -Infinity) > now - 5 * 60_000) continue;
      this.sent.set(dedup, now);
      this.messages.push({ signal: clone(signal), group: signal.slaveAccountId, receives: 0, visibleAt: now });
    }
  }

  get depth(): number {
    return this.messages.length;
  }

  /** The first visible message of every group that has none in flight. */
  receive(): { signal: CopySignal; done: () => void; retry: (afterMs: number) => void }[] {
    const now = this.now().getTime();
    const heads = new Map<string, QueuedSignal>();
    for (const message of this.messages) if (!heads.has(message.group)) heads.set(message.group, message);
    return [...heads.values()]
      .filter((message) => !this.inFlight.has(message.group) && message.visibleAt <= now)
      .map((message) => {
        this.inFlight.add(message.group);
        message.receives += 1;
        return {
          signal: clone(message.signal),
          done: () => {
            this.inFlight.delete(message.group);
            this.messages.splice(this.messages.indexOf(message), 1);
          },
          retry: (afterMs: number) => {
            this.inFlight.delete(message.group);
            message.visibleAt = this.now().getTime() + afterMs;
          },
        };
      });
  }
}

/** Shard leases in memory, with the DynamoDB store's conditions. */
export class MemoryShardLeaseStore implements ShardLeaseStore {
  private readonly leases = new Map<string, ShardLease>();

  async get(shardKey: string): Promise<ShardLease | undefined> {
    const lease = this.leases.get(shardKey);
    return lease ? { ...lease } : undefined;
  }

  async acquire(shardKey: string, lease: ShardLease, options: { now: number; previousOwner?: string }): Promise<boolean> {
    const current = this.leases.get(shardKey);
    const free = !current || current.until < options.now || (options.previousOwner !== undefined && current.owner === options.previousOwner);
    if (free) this.leases.set(shardKey, { ...lease });
    return free;
  }

  async renew(shardKey: string, lease: ShardLease): Promise<boolean> {
    if (this.leases.get(shardKey)?.owner !== lease.owner) return false;
    this.leases.set(shardKey, { ...lease });
    return true;
  }

  async release(shardKey: string, owner: string): Promise<void> {
    if (this.leases.get(shardKey)?.owner === owner) this.leases.delete(shardKey);
  }
}

/** Every memory store, wired the way the runtime wires the DynamoDB ones. */
/** The trade history in maps, keyed as the DynamoDB adapter keys it. */
export class MemoryTradeHistoryStore implements TradeHistoryStore {
  private readonly cursors = new Map<string, HistoryCursor>();
  private readonly deals = new Map<string, Deal>();
  private readonly trades = new Map<string, HistoryTrade & { accountKey: string }>();
  private readonly points = new Map<string, EquityPoint & { accountKey: string; interval: EquityInterval; bucket: string }>();

  async getCursor(tenantId: string, accountId: string): Promise<HistoryCursor | undefined> {
    const cursor = this.cursors.get(`${tenantId}|${accountId}`);
    return cursor ? structuredClone(cursor) : undefined;
  }
  async putCursor(cursor: HistoryCursor): Promise<void> {
    this.cursors.set(`${cursor.tenantId}|${cursor.accountId}`, structuredClone(cursor));
  }
  async putDeals(tenantId: string, accountId: string, deals: Deal[]): Promise<void> {
    for (const deal of deals) this.deals.set(`${tenantId}|${accountId}|${deal.positionId}|${deal.id}`, structuredClone(deal));
  }
  async dealsOfPosition(tenantId: string, accountId: string, positionId: string): Promise<Deal[]> {
    const prefix = `${tenantId}|${accountId}|${positionId}|`;
    return [...this.deals]
      .filter(([key]) => key.startsWith(prefix))
      .map(([, deal]) => structuredClone(deal))
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.id < b.id ? -1 : 1));
  }
  async putTrades(tenantId: string, accountId: string, trades: HistoryTrade[]): Promise<void> {
    for (const trade of trades)
      this.trades.set(`${tenantId}|${accountId}|${trade.closedAt}|${trade.id}`, { ...structuredClone(trade), accountKey: `${tenantId}|${accountId}` });
  }
  async listTrades(tenantId: string, accountId: string, range: { from: string; to: string }): Promise<HistoryTrade[]> {
    return [...this.trades.values()]
      .filter((trade) => trade.accountKey === `${tenantId}|${accountId}` && trade.closedAt >= range.from && trade.closedAt < range.to)
      .sort((a, b) => (a.closedAt === b.closedAt ? (a.id < b.id ? 1 : -1) : a.closedAt < b.closedAt ? 1 : -1))
      .map(({ accountKey: _key, ...trade }) => trade);
  }
  async putEquityPoint(tenantId: string, accountId: string, point: EquityPoint, rollUp: { hour: boolean; day: boolean }): Promise<void> {
    const buckets: [EquityInterval, string][] = [
      ['minute', `${point.at.slice(0, 16)}`],
      ...(rollUp.hour ? [['hour', point.at.slice(0, 13)] as [EquityInterval, string]] : []),
      ...(rollUp.day ? [['day', point.at.slice(0, 10)] as [EquityInterval, string]] : []),
    ];
    for (const [interval, bucket] of buckets) {
      this.points.set(`${tenantId}|${accountId}|${interval}|${bucket}`, { ...point, accountKey: `${tenantId}|${accountId}`, interval, bucket });
    }
  }
  async listEquity(tenantId: string, accountId: string, range: { from: string; to: string }, interval: EquityInterval): Promise<EquityPoint[]> {
    const length = interval === 'minute' ? 16 : interval === 'hour' ? 13 : 10;
    return [...this.points.values()]
      .filter((point) => point.accountKey === `${tenantId}|${accountId}` && point.interval === interval)
      .filter((point) => point.bucket >= range.from.slice(0, length) && point.at < range.to)
      .sort((a, b) => (a.bucket < b.bucket ? -1 : 1))
      .map(({ at, balance, equity }) => ({ at, balance, equity }));
  }
}

export const memoryStores = (now: () => Date) => {
  const mappings = new MemoryMappingStore();
  const accounts = new MemoryAccountStore(mappings);
  const protections = new MemoryProtectionStore();
  const copies = new MemoryCopyStore();
  return {
    accounts,
    mappings,
    books: new MemoryBookStore(),
    protections,
    copies,
    copyContext: new MemoryCopyContextLoader({ mappings, accounts, protections, copies }),
    audit: new MemoryAuditLog(),
    cipher: new MemoryCipher(),
    queue: new MemorySignalQueue(now),
    shardLeases: new MemoryShardLeaseStore(),
    tradeHistory: new MemoryTradeHistoryStore(),
  };
};
