import { describe, expect, it } from 'vitest';
import { copyClientId } from '../../shared/domain/copy-record';
import { ConcurrentUpdateError, ConflictError, NotFoundError, QuotaExceededError } from '../../shared/domain/errors';
import type { AccountStore, BookStore, CopyStore, MappingStore, ShardLeaseStore } from '../../shared/ports/stores';
import { rejectionOf } from '../support/dynamo';
import { aCopyRecord, aLink, aMapping, anAccount, T0 } from '../support/fixtures';

export interface StoreSet {
  accounts: AccountStore;
  mappings: MappingStore;
  copies: CopyStore;
  books: BookStore;
  shardLeases: ShardLeaseStore;
}

let unique = 0;
const tenant = (name: string) => `${name}-${(unique += 1)}`;

/**
 * What the use cases rely on from the store ports, run over every adapter (DynamoDB Local
 * and the in-memory one the property tests use), so the fast tests prove what the real
 * stores do.
 */
export const storeContract = (name: string, stores: () => StoreSet) => {
  describe(`${name}: mapping graph`, () => {
    it('lands exactly one of two creations checked against the same graph version', async () => {
      const { mappings } = stores();
      const tenantId = tenant('race');
      const { version } = await mappings.graph(tenantId);
      const results = await Promise.allSettled([
        mappings.create(aMapping({ tenantId, id: 'ab', masterAccountId: 'A', slaveAccountId: 'B' }), { graphVersion: version }),
        mappings.create(aMapping({ tenantId, id: 'ba', masterAccountId: 'B', slaveAccountId: 'A' }), { graphVersion: version }),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(failure?.reason).toBeInstanceOf(ConcurrentUpdateError);
      const graph = await mappings.graph(tenantId);
      expect(graph.version).toBe(version + 1);
      expect(graph.mappings).toHaveLength(1);
    });

    it('refuses a creation checked against a graph that moved on since', async () => {
      const { mappings } = stores();
      const tenantId = tenant('stale');
      await mappings.create(aMapping({ tenantId, id: 'm-1', slaveAccountId: 'S1' }), { graphVersion: 0 });
      expect(await rejectionOf(mappings.create(aMapping({ tenantId, id: 'm-2', slaveAccountId: 'S2' }), { graphVersion: 0 }))).toBeInstanceOf(
        ConcurrentUpdateError,
      );
      expect((await mappings.graph(tenantId)).mappings.map((m) => m.id)).toEqual(['m-1']);
      await mappings.create(aMapping({ tenantId, id: 'm-2', slaveAccountId: 'S2' }), { graphVersion: 1 });
      expect(await mappings.graph(tenantId)).toMatchObject({ version: 2, mappings: [{ id: 'm-1' }, { id: 'm-2' }] });
    });

    it('keeps the graphs of tenants apart', async () => {
      const { mappings } = stores();
      const [a, b] = [tenant('ga'), tenant('gb')];
      await mappings.create(aMapping({ tenantId: a, id: 'm-1' }), { graphVersion: 0 });
      expect(await mappings.graph(b)).toEqual({ version: 0, mappings: [] });
    });

    it('sets activeSince when a change enables a disabled mapping, and only then', async () => {
      const { mappings } = stores();
      const tenantId = tenant('enable');
      await mappings.create(aMapping({ tenantId, id: 'm-1', enabled: false, activeSince: T0 }), { graphVersion: 0 });
      const later = '2024-03-05T00:00:00.000Z';
      expect(await mappings.update(tenantId, 'm-1', { enabled: true }, { enabledAt: later })).toMatchObject({ enabled: true, activeSince: later });
      const again = await mappings.update(tenantId, 'm-1', { enabled: true }, { enabledAt: '2024-03-06T00:00:00.000Z' });
      expect(again.activeSince).toBe(later);
      expect(await rejectionOf(mappings.update(tenantId, 'missing', { enabled: true }, { enabledAt: later }))).toBeInstanceOf(NotFoundError);
    });
  });

  describe(`${name}: mapping starts`, () => {
    it('notes an announcement only for the start it was made for', async () => {
      const { mappings } = stores();
      const tenantId = tenant('announce');
      await mappings.create(aMapping({ tenantId, id: 'm-1', activeSince: T0 }), { graphVersion: 0 });
      await mappings.markAnnounced(tenantId, 'm-1', '2024-01-01T00:00:00.000Z');
      expect((await mappings.get(tenantId, 'm-1'))?.announcedSince).toBeUndefined();
      await mappings.markAnnounced(tenantId, 'm-1', T0);
      expect((await mappings.get(tenantId, 'm-1'))?.announcedSince).toBe(T0);
      // Enabled again later: a new start, not yet announced; an update never sets it.
      await mappings.update(tenantId, 'm-1', { enabled: false });
      const again = await mappings.update(tenantId, 'm-1', { enabled: true, announcedSince: 'forged' } as never, { enabledAt: '2024-03-05T00:00:00.000Z' });
      expect(again).toMatchObject({ activeSince: '2024-03-05T00:00:00.000Z', announcedSince: T0 });
      // A mapping stored before activeSince existed started at its creation.
      await mappings.create(aMapping({ tenantId, id: 'm-old', slaveAccountId: 'S9', createdAt: T0 }), { graphVersion: 1 });
      await mappings.markAnnounced(tenantId, 'm-old', T0);
      expect((await mappings.get(tenantId, 'm-old'))?.announcedSince).toBe(T0);
      await mappings.markAnnounced(tenantId, 'gone', T0);
    });
  });

  describe(`${name}: accounts`, () => {
    it('refuses an account past the tenant limit, counts deletes, and lets only one of two creates take the last place', async () => {
      const { accounts } = stores();
      const tenantId = tenant('quota');
      const add = (id: string) => accounts.create(anAccount({ tenantId, id, login: id }), { maxAccounts: 3 });
      await add('q-1');
      await add('q-2');
      const race = await Promise.allSettled([add('q-3'), add('q-4')]);
      expect(race.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const refused = (race.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason;
      expect(refused).toBeInstanceOf(QuotaExceededError);
      expect((refused as Error).message).toBe('This tenant has reached its limit of 3 accounts (MAX_ACCOUNTS_PER_TENANT)');
      await accounts.delete(tenantId, 'q-1');
      await add('q-5');
      expect(await rejectionOf(add('q-6'))).toBeInstanceOf(QuotaExceededError);
      // Another tenant has its own count; without a limit nothing is refused.
      await accounts.create(anAccount({ tenantId: tenant('quota-other'), id: 'q-7', login: 'q-7' }), { maxAccounts: 1 });
      await accounts.create(anAccount({ tenantId, id: 'q-8', login: 'q-8' }));
    });

    it('holds one account per (platform, server, login) in a tenant, also when both are added at once', async () => {
      const { accounts } = stores();
      const tenantId = tenant('login');
      const results = await Promise.allSettled([
        accounts.create(anAccount({ tenantId, id: 'a-1', login: '777', server: 'Broker-Live' })),
        accounts.create(anAccount({ tenantId, id: 'a-2', login: '777', server: ' broker-live ' })),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      // Another tenant, another platform or another login is another account.
      await accounts.create(anAccount({ tenantId: tenant('other'), id: 'a-3', login: '777', server: 'Broker-Live' }));
      await accounts.create(anAccount({ tenantId, id: 'a-4', login: '777', server: 'Broker-Live', platform: 'mt4' }));
      await accounts.create(anAccount({ tenantId, id: 'a-5', login: '778', server: 'Broker-Live' }));
    });

    it('frees the login when the account is deleted, and moves it with a change of server', async () => {
      const { accounts } = stores();
      const tenantId = tenant('free');
      await accounts.create(anAccount({ tenantId, id: 'a-1', login: '1', server: 'One' }));
      await accounts.create(anAccount({ tenantId, id: 'a-2', login: '1', server: 'Two' }));
      expect(await rejectionOf(accounts.update(tenantId, 'a-2', { server: 'one' }))).toBeInstanceOf(ConflictError);
      expect((await accounts.get(tenantId, 'a-2'))?.server).toBe('Two');
      await accounts.update(tenantId, 'a-2', { server: 'Three' });
      await accounts.create(anAccount({ tenantId, id: 'a-3', login: '1', server: 'Two' }));
      await accounts.delete(tenantId, 'a-1');
      await accounts.create(anAccount({ tenantId, id: 'a-4', login: '1', server: 'One' }));
    });

    it('keeps exactly one login reserved when two requests move one account to two servers at once', async () => {
      const { accounts } = stores();
      const tenantId = tenant('moves');
      await accounts.create(anAccount({ tenantId, id: 'a-1', login: '5', server: 'Home' }));
      const moves = await Promise.allSettled([accounts.update(tenantId, 'a-1', { server: 'North' }), accounts.update(tenantId, 'a-1', { server: 'South' })]);
      expect(moves.some((move) => move.status === 'fulfilled')).toBe(true);
      for (const move of moves) if (move.status === 'rejected') expect((move.reason as Error).name).toBe('ConflictError');
      const server = (await accounts.get(tenantId, 'a-1'))!.server;
      // Every server but the one it is on is free for another account of the tenant.
      for (const other of ['Home', 'North', 'South'].filter((name) => name !== server)) {
        await accounts.create(anAccount({ tenantId, id: `on-${other}`, login: '5', server: other }));
      }
      expect(await rejectionOf(accounts.create(anAccount({ tenantId, id: 'twin', login: '5', server })))).toBeInstanceOf(ConflictError);
    });

    it('deletes an account only while the mapping graph is at the version the caller checked', async () => {
      const { accounts, mappings } = stores();
      const tenantId = tenant('guarded');
      await accounts.create(anAccount({ tenantId, id: 'a-1' }));
      await mappings.create(aMapping({ tenantId, id: 'm-1', masterAccountId: 'x', slaveAccountId: 'y' }), { graphVersion: 0 });
      expect(await rejectionOf(accounts.delete(tenantId, 'a-1', { graphVersion: 0 }))).toBeInstanceOf(ConcurrentUpdateError);
      expect(await accounts.get(tenantId, 'a-1')).toBeDefined();
      await accounts.delete(tenantId, 'a-1', { graphVersion: 1 });
      expect(await accounts.get(tenantId, 'a-1')).toBeUndefined();
      // The deletion moved the graph: a mapping checked before it cannot land.
      expect(
        await rejectionOf(mappings.create(aMapping({ tenantId, id: 'm-2', masterAccountId: 'a-1', slaveAccountId: 'y2' }), { graphVersion: 1 })),
      ).toBeInstanceOf(ConcurrentUpdateError);
    });
  });

  describe(`${name}: copy records`, () => {
    const done = { completedAt: T0, latencyMs: 0 };
    it('claims once, is busy while leased, is taken over after the lease with the attempt counted, and fences the old holder', async () => {
      const { copies } = stores();
      const tenantId = tenant('claim');
      const draft = aCopyRecord({ tenantId, startedAt: T0 });
      const now = new Date(T0);
      const first = await copies.claim(draft, { now, leaseMs: 1000 });
      expect(first).toMatchObject({ outcome: 'claimed', resumed: false, record: { attempts: 1, status: 'pending' } });
      expect(await copies.claim(draft, { now: new Date(now.getTime() + 999), leaseMs: 1000 })).toEqual({ outcome: 'busy', leaseUntil: now.getTime() + 1000 });
      const later = new Date(now.getTime() + 1001);
      const second = await copies.claim({ ...draft, startedAt: later.toISOString() }, { now: later, leaseMs: 1000 });
      // The first attempt's start is kept: expiry is judged from it.
      expect(second).toMatchObject({ outcome: 'claimed', resumed: true, record: { attempts: 2, startedAt: T0 } });
      if (first.outcome !== 'claimed' || second.outcome !== 'claimed') throw new Error('unreachable');
      expect(await rejectionOf(copies.finish({ ...first.record, ...done, status: 'placed' }))).toBeInstanceOf(ConcurrentUpdateError);
      await copies.finish({ ...second.record, ...done, status: 'skipped', reason: 'SYMBOL_FILTERED' });
      expect(await copies.claim(draft, { now: new Date(now.getTime() + 5000), leaseMs: 1000 })).toMatchObject({
        outcome: 'done',
        record: { status: 'skipped', reason: 'SYMBOL_FILTERED' },
      });
    });

    it('takes over at once the claims of workers the claiming worker supersedes, and only theirs', async () => {
      const { copies } = stores();
      const now = new Date(T0);
      const draft = aCopyRecord({ tenantId: tenant('supersede') });
      expect(await copies.claim(draft, { now, leaseMs: 60_000, worker: { epoch: 100, supersedes: true } })).toMatchObject({ outcome: 'claimed' });
      // Same generation, or one that does not supersede: the lease holds, and says until when.
      expect(await copies.claim(draft, { now, leaseMs: 60_000, worker: { epoch: 100, supersedes: true } })).toEqual({
        outcome: 'busy',
        leaseUntil: now.getTime() + 60_000,
      });
      expect(await copies.claim(draft, { now, leaseMs: 60_000, worker: { epoch: 200, supersedes: false } })).toMatchObject({ outcome: 'busy' });
      // A later generation that supersedes: taken over now, as a resumed claim.
      const taken = await copies.claim(draft, { now, leaseMs: 60_000, worker: { epoch: 200, supersedes: true } });
      expect(taken).toMatchObject({ outcome: 'claimed', resumed: true, record: { attempts: 2 } });
      // ...and the older generation cannot take it back.
      expect(await copies.claim(draft, { now, leaseMs: 60_000, worker: { epoch: 100, supersedes: true } })).toMatchObject({ outcome: 'busy' });
    });

    it('gives a released record to the next delivery at once', async () => {
      const { copies } = stores();
      const draft = aCopyRecord({ tenantId: tenant('release') });
      const now = new Date(T0);
      const claimed = await copies.claim(draft, { now, leaseMs: 60_000 });
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      await copies.release(claimed.record);
      expect(await copies.claim(draft, { now, leaseMs: 60_000 })).toMatchObject({ outcome: 'claimed', resumed: true });
    });

    it('finds a record by the client id of its side effect, and by (mapping, event)', async () => {
      const { copies } = stores();
      const tenantId = tenant('lookup');
      const draft = aCopyRecord({ tenantId, mappingId: 'm-9', eventId: 'positionOpened:p-9:0', masterClientId: copyClientId('m-0', 'positionOpened:p-0:0') });
      const claimed = await copies.claim(draft, { now: new Date(T0), leaseMs: 1000 });
      if (claimed.outcome !== 'claimed') throw new Error('not claimed');
      await copies.finish(
        { ...claimed.record, ...done, status: 'placed', slavePositionId: 's-9' },
        { link: aLink({ tenantId, mappingId: 'm-9', masterTicket: 'p-9' }) },
      );
      const found = await copies.findByClientId(tenantId, copyClientId('m-9', 'positionOpened:p-9:0'));
      expect(found).toMatchObject({ mappingId: 'm-9', status: 'placed', masterAccountId: 'master-1', masterClientId: draft.masterClientId });
      expect(await copies.get(tenantId, 'm-9', 'positionOpened:p-9:0')).toEqual(found);
      expect(await copies.findByClientId(tenant('elsewhere'), draft.clientId)).toBeUndefined();
      expect(await copies.listOpenLinks(tenantId, 'm-9')).toMatchObject([{ masterTicket: 'p-9', slaveTicket: 's-1' }]);
    });

    it('notes a refused close on the link with the failed record, changing nothing else of the link, and on no link that is not there', async () => {
      const { copies } = stores();
      const tenantId = tenant('refused');
      const opened = await copies.claim(aCopyRecord({ tenantId, mappingId: 'm-r', eventId: 'positionOpened:p-1:0' }), { now: new Date(T0), leaseMs: 1000 });
      if (opened.outcome !== 'claimed') throw new Error('not claimed');
      const link = aLink({ tenantId, mappingId: 'm-r', masterTicket: 'p-1', slaveTicket: 's-1', slaveVolume: 0.2 });
      await copies.finish({ ...opened.record, ...done, status: 'placed', slavePositionId: 's-1' }, { link });
      // Another copy's FIFO close moved this link's legs after the refused close read it.
      const moved = { ...link, slaveTicket: 's-2' };
      await copies.relinkLegs([{ before: link, after: moved }]);
      const close = await copies.claim(aCopyRecord({ tenantId, mappingId: 'm-r', eventId: 'positionClosed:p-1', action: 'close' }), {
        now: new Date(T0),
        leaseMs: 1000,
      });
      if (close.outcome !== 'claimed') throw new Error('not claimed');
      const refused = { count: 1, at: T0, reason: 'BROKER_FIFO_VIOLATION' };
      await copies.finish(
        { ...close.record, ...done, status: 'failed', reason: 'BROKER_FIFO_VIOLATION' },
        { refusedClose: { tenantId, mappingId: 'm-r', masterTicket: 'p-1', refused } },
      );
      expect(await copies.getLink(tenantId, 'm-r', 'p-1')).toEqual({ ...moved, closeRefused: refused });
      expect(await copies.get(tenantId, 'm-r', 'positionClosed:p-1')).toMatchObject({ status: 'failed' });

      const orphan = await copies.claim(aCopyRecord({ tenantId, mappingId: 'm-r', eventId: 'positionClosed:p-9', action: 'close' }), {
        now: new Date(T0),
        leaseMs: 1000,
      });
      if (orphan.outcome !== 'claimed') throw new Error('not claimed');
      const finishing = copies.finish(
        { ...orphan.record, ...done, status: 'failed', reason: 'BROKER_REJECTED' },
        { refusedClose: { tenantId, mappingId: 'm-r', masterTicket: 'p-9', refused } },
      );
      expect(await rejectionOf(finishing)).toBeInstanceOf(ConcurrentUpdateError);
      expect(await copies.getLink(tenantId, 'm-r', 'p-9')).toBeUndefined();
      expect(await copies.get(tenantId, 'm-r', 'positionClosed:p-9')).toMatchObject({ status: 'pending' });
    });

    it('gives open links new legs at once, and refuses all when any moved on', async () => {
      const { copies } = stores();
      const tenantId = tenant('relink');
      const put = async (masterTicket: string, slaveTicket: string, slaveVolume: number) => {
        const draft = aCopyRecord({ tenantId, mappingId: 'm-s', eventId: `positionOpened:${masterTicket}:0` });
        const claimed = await copies.claim(draft, { now: new Date(T0), leaseMs: 1000 });
        if (claimed.outcome !== 'claimed') throw new Error('not claimed');
        const link = aLink({ tenantId, mappingId: 'm-s', masterTicket, slaveTicket, slaveVolume });
        await copies.finish({ ...claimed.record, ...done, status: 'placed', slavePositionId: slaveTicket }, { link });
        return link;
      };
      const older = await put('p-1', 's-1', 0.2);
      const newer = await put('p-2', 's-2', 0.1);
      // The newer copy takes 0.1 of the oldest trade; the older one keeps 0.1 of it and takes the newer's trade.
      const newerAfter = { ...newer, slaveTicket: 's-1' };
      const olderAfter = {
        ...older,
        legs: [
          { ticket: 's-1', volume: 0.1 },
          { ticket: 's-2', volume: 0.1 },
        ],
      };
      await copies.relinkLegs([
        { before: newer, after: newerAfter },
        { before: older, after: olderAfter },
      ]);
      expect(await copies.getLink(tenantId, 'm-s', 'p-2')).toEqual(newerAfter);
      expect(await copies.getLink(tenantId, 'm-s', 'p-1')).toEqual(olderAfter);
      // Read before the change: the newer one is stale now, and nothing changes, the older one neither.
      await expect(
        copies.relinkLegs([
          { before: older, after: { ...older, slaveTicket: 's-9' } },
          { before: newer, after: { ...newer, slaveTicket: 's-9' } },
        ]),
      ).rejects.toBeInstanceOf(ConcurrentUpdateError);
      expect(await copies.getLink(tenantId, 'm-s', 'p-1')).toEqual(olderAfter);
      expect(await copies.getLink(tenantId, 'm-s', 'p-2')).toEqual(newerAfter);
      expect(await copies.listOpenLinks(tenantId, 'm-s')).toHaveLength(2);
    });

    it("lists a tenant's copies newest first, filtered by status, account, mapping and time, page by page", async () => {
      const { copies } = stores();
      const tenantId = tenant('timeline');
      const at = (minute: number) => new Date(Date.parse(T0) + minute * 60_000).toISOString();
      // Twelve copies over twelve minutes, on two mappings; every third one skipped.
      const made: ReturnType<typeof aCopyRecord>[] = [];
      for (let minute = 0; minute < 12; minute += 1) {
        const onFirst = minute % 2 === 0;
        const draft = aCopyRecord({
          tenantId,
          mappingId: onFirst ? 'm-a' : 'm-b',
          masterAccountId: onFirst ? 'acc-1' : 'acc-2',
          slaveAccountId: onFirst ? 'acc-2' : 'acc-3',
          eventId: `positionOpened:p-${minute}:0`,
          detectedAt: at(minute),
        });
        const claimed = await copies.claim(draft, { now: new Date(at(minute)), leaseMs: 1000 });
        if (claimed.outcome !== 'claimed') throw new Error('not claimed');
        if (minute % 3 === 0) await copies.finish({ ...claimed.record, ...done, status: 'skipped', reason: 'SYMBOL_FILTERED' });
        else if (minute !== 11) await copies.finish({ ...claimed.record, ...done, status: 'placed' });
        made.push(draft);
      }
      await copies.claim(aCopyRecord({ tenantId: tenant('other'), detectedAt: at(5) }), { now: new Date(T0), leaseMs: 1000 });
      const all = async (filter: Parameters<typeof copies.list>[1], limit: number) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await copies.list(tenantId, filter, { limit, cursor });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          ids.push(...page.items.map((item) => item.id));
          cursor = page.nextCursor;
        } while (cursor);
        return ids;
      };
      const newestFirst = [...made].reverse();
      const ids = (records: typeof made) => records.map((record) => record.id);
      expect(await all({}, 5)).toEqual(ids(newestFirst));
      expect(await all({ status: 'skipped' }, 2)).toEqual(ids(newestFirst.filter((_r, i) => (11 - i) % 3 === 0)));
      expect(await all({ status: 'pending' }, 50)).toEqual([made[11]!.id]);
      // acc-2 is the first mapping's slave and the second's master: all of them.
      expect(await all({ accountId: 'acc-2' }, 4)).toEqual(ids(newestFirst));
      expect(await all({ accountId: 'acc-3' }, 4)).toEqual(ids(newestFirst.filter((record) => record.mappingId === 'm-b')));
      expect(await all({ mappingId: 'm-a', status: 'placed' }, 3)).toEqual(
        ids(newestFirst.filter((record, i) => record.mappingId === 'm-a' && (11 - i) % 3 !== 0 && 11 - i !== 11)),
      );
      // [from, to): minute 3 in, minute 6 out.
      expect(await all({ from: at(3), to: at(6) }, 2)).toEqual(ids([made[5]!, made[4]!, made[3]!]));
      expect(await all({ to: at(2) }, 5)).toEqual(ids([made[1]!, made[0]!]));
      expect(await all({ from: at(10), status: 'pending' }, 5)).toEqual(ids([made[11]!]));
      expect(await all({ accountId: 'nobody' }, 5)).toEqual([]);
      // Records carry no storage attributes.
      const [first] = (await copies.list(tenantId, {}, { limit: 1 })).items;
      expect(Object.keys(first!).filter((key) => /^(pk|sk|gsi\d|entity|leaseUntil|workerEpoch)/.test(key))).toEqual([]);
    });
  });

  describe(`${name}: books`, () => {
    it('writes a book only on top of the version it was diffed from', async () => {
      const { books } = stores();
      const tenantId = tenant('book');
      const book = { tenantId, accountId: 'a', version: 1, positions: [], orders: [], syncedAt: T0 };
      await books.put(book);
      expect(await rejectionOf(books.put(book))).toBeInstanceOf(ConcurrentUpdateError);
      await books.put({ ...book, version: 2 });
      expect(await books.get(tenantId, 'a')).toMatchObject({ version: 2 });
    });
  });

  describe(`${name}: shard leases`, () => {
    const lease = (owner: string, until: number) => ({ owner, until, handOverAfter: until - 500 });

    it('gives a free shard to exactly one of two invocations at once, and refuses a held one', async () => {
      const { shardLeases } = stores();
      const shard = tenant('shard');
      const results = await Promise.all(['a', 'b'].map((owner) => shardLeases.acquire(shard, lease(owner, 10_000), { now: 1_000 })));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'a' : 'b';
      expect(await shardLeases.get(shard)).toMatchObject({ owner: winner, until: 10_000 });
      expect(await shardLeases.acquire(shard, lease('c', 20_000), { now: 2_000 })).toBe(false);
    });

    it('lets a successor take over from the owner it read, and then refuses that owner its renewal', async () => {
      const { shardLeases } = stores();
      const shard = tenant('handover');
      expect(await shardLeases.acquire(shard, lease('old', 10_000), { now: 1_000 })).toBe(true);
      expect(await shardLeases.acquire(shard, lease('new', 30_000), { now: 2_000, previousOwner: 'someone-else' })).toBe(false);
      expect(await shardLeases.acquire(shard, lease('new', 30_000), { now: 2_000, previousOwner: 'old' })).toBe(true);
      expect(await shardLeases.renew(shard, lease('old', 12_000))).toBe(false);
      expect(await shardLeases.renew(shard, lease('new', 32_000))).toBe(true);
      expect(await shardLeases.get(shard)).toMatchObject({ owner: 'new', until: 32_000 });
      // A release by the old owner changes nothing; the new owner's frees the shard.
      await shardLeases.release(shard, 'old');
      expect(await shardLeases.get(shard)).toMatchObject({ owner: 'new' });
      await shardLeases.release(shard, 'new');
      expect(await shardLeases.get(shard)).toBeUndefined();
    });

    it('frees the lease of an owner that stopped renewing once it expired', async () => {
      const { shardLeases } = stores();
      const shard = tenant('expired');
      expect(await shardLeases.acquire(shard, lease('dead', 5_000), { now: 1_000 })).toBe(true);
      expect(await shardLeases.acquire(shard, lease('next', 40_000), { now: 4_999 })).toBe(false);
      expect(await shardLeases.acquire(shard, lease('next', 40_000), { now: 5_001 })).toBe(true);
    });
  });
};
