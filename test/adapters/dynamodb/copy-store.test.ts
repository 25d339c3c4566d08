import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditLog } from '../../../shared/adapters/dynamodb/audit-log';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CLOSED_LINK_TTL_SECONDS, DynamoCopyStore } from '../../../shared/adapters/dynamodb/copy-store';
import type { CopyRecord, PendingCopyRecord, PlacedCopyRecord } from '../../../shared/domain/copy-record';
import { ConcurrentUpdateError, ValidationError } from '../../../shared/domain/errors';
import type { AuditEntry, ClaimResult } from '../../../shared/ports/stores';
import { createTestTables, rejectionOf, type TestTables } from '../../support/dynamo';
import { aCopyRecord, aLink } from '../../support/fixtures';

let tables: TestTables;
let copies: DynamoCopyStore;
let audit: DynamoAuditLog;

beforeAll(async () => {
  tables = await createTestTables('copies');
  copies = new DynamoCopyStore(tables.main, tables.audit);
  audit = new DynamoAuditLog(tables.audit);
});

afterAll(async () => {
  await tables?.drop();
});

const NOW = new Date('2024-03-04T10:00:01.000Z');
const LEASE_MS = 30_000;
const later = (ms: number) => new Date(NOW.getTime() + ms);

let sequence = 0;
/** A record of its own event, so that tests never share one. */
const freshRecord = (overrides: Partial<PendingCopyRecord> = {}): PendingCopyRecord => {
  sequence += 1;
  return aCopyRecord({ eventId: `positionOpened:p-${sequence}:0`, masterPositionId: `p-${sequence}`, ...overrides });
};

const claimed = (result: ClaimResult): PendingCopyRecord => {
  if (result.outcome !== 'claimed') throw new Error(`expected claimed, got ${result.outcome}`);
  return result.record;
};

const placed = (record: PendingCopyRecord): PlacedCopyRecord => ({
  ...record,
  status: 'placed',
  slavePositionId: 'slave-ticket-9',
  slaveSymbol: 'EURUSD',
  slaveVolume: 0.2,
  side: 'buy',
  completedAt: '2024-03-04T10:00:02.000Z',
  latencyMs: 2000,
});

const auditEntry = (tenantId: string, resourceId: string): AuditEntry => ({
  tenantId,
  at: '2024-03-04T10:00:02.000Z',
  actor: 'copy-worker',
  action: 'copy.placed',
  resourceType: 'copy',
  resourceId,
  details: { slaveVolume: 0.2 },
});

describe('DynamoCopyStore', () => {
  describe('claim', () => {
    it('claims a new record as pending, on its first attempt, not resumed', async () => {
      const record = freshRecord();

      const result = await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      expect(result).toEqual({ outcome: 'claimed', resumed: false, record: { ...record, status: 'pending', attempts: 1 } });
      expect(await copies.get(record.tenantId, record.mappingId, record.eventId)).toEqual({ ...record, status: 'pending', attempts: 1 });
    });

    it('answers busy while another claim holds the lease', async () => {
      const record = freshRecord();
      await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      expect(await copies.claim(record, { now: later(LEASE_MS - 1), leaseMs: LEASE_MS })).toEqual({ outcome: 'busy', leaseUntil: NOW.getTime() + LEASE_MS });
    });

    it('answers done with the final record after finish', async () => {
      const record = freshRecord();
      const mine = claimed(await copies.claim(record, { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish(placed(mine));

      const again = await copies.claim(record, { now: later(LEASE_MS * 10), leaseMs: LEASE_MS });

      expect(again).toEqual({ outcome: 'done', record: placed(mine) });
    });

    it('takes over an expired lease as attempt 2, resumed', async () => {
      const record = freshRecord();
      await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      const result = await copies.claim(record, { now: later(LEASE_MS + 1), leaseMs: LEASE_MS });

      expect(result).toMatchObject({ outcome: 'claimed', resumed: true, record: { attempts: 2, status: 'pending' } });
    });

    it('keeps the fields of the first claim when a later claim carries different ones', async () => {
      const record = freshRecord();
      await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      const result = await copies.claim(
        { ...record, detectedAt: '2030-01-01T00:00:00.000Z', masterVolume: 9 },
        { now: later(LEASE_MS + 1), leaseMs: LEASE_MS },
      );

      expect(claimed(result)).toMatchObject({ detectedAt: record.detectedAt, masterVolume: record.masterVolume });
    });

    it('claims again, resumed, after a release', async () => {
      const record = freshRecord();
      const mine = claimed(await copies.claim(record, { now: NOW, leaseMs: LEASE_MS }));
      await copies.release(mine);

      const result = await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      expect(result).toMatchObject({ outcome: 'claimed', resumed: true, record: { attempts: 2 } });
    });

    it('lets exactly one of five concurrent claims of the same record win', async () => {
      const record = freshRecord();

      const results = await Promise.all(Array.from({ length: 5 }, () => copies.claim(record, { now: NOW, leaseMs: LEASE_MS })));

      expect(results.filter((result) => result.outcome === 'claimed')).toHaveLength(1);
      expect(results.filter((result) => result.outcome === 'busy')).toHaveLength(4);
      expect((await copies.get(record.tenantId, record.mappingId, record.eventId))?.attempts).toBe(1);
    });

    it('lets exactly one of five concurrent take-overs of an expired lease win', async () => {
      const record = freshRecord();
      await copies.claim(record, { now: NOW, leaseMs: LEASE_MS });

      const results = await Promise.all(Array.from({ length: 5 }, () => copies.claim(record, { now: later(LEASE_MS + 1), leaseMs: LEASE_MS })));

      expect(results.filter((result) => result.outcome === 'claimed')).toHaveLength(1);
      expect((await copies.get(record.tenantId, record.mappingId, record.eventId))?.attempts).toBe(2);
    });

    it('keeps the records of the same event on two mappings apart', async () => {
      const record = freshRecord();
      const other = aCopyRecord({ tenantId: record.tenantId, mappingId: 'mapping-2', eventId: record.eventId });
      expect((await copies.claim(record, { now: NOW, leaseMs: LEASE_MS })).outcome).toBe('claimed');
      expect((await copies.claim(other, { now: NOW, leaseMs: LEASE_MS })).outcome).toBe('claimed');
    });
  });

  describe('finish', () => {
    it('refuses a finish by a stale holder with ConcurrentUpdateError and writes none of its effects', async () => {
      const record = freshRecord();
      const stale = claimed(await copies.claim(record, { now: NOW, leaseMs: LEASE_MS }));
      const current = claimed(await copies.claim(record, { now: later(LEASE_MS + 1), leaseMs: LEASE_MS }));
      const link = aLink({ masterTicket: record.masterPositionId!, slaveTicket: 'stale-ticket' });

      const error = await rejectionOf(copies.finish(placed(stale), { link, audit: auditEntry('tenant-stale', record.id) }));

      expect(error).toBeInstanceOf(ConcurrentUpdateError);
      expect(await copies.getLink(link.tenantId, link.mappingId, link.masterTicket)).toBeUndefined();
      expect((await audit.list('tenant-stale', { limit: 10 })).items).toEqual([]);
      expect(await copies.get(record.tenantId, record.mappingId, record.eventId)).toMatchObject({ status: 'pending', attempts: 2 });

      await copies.finish(placed(current));
      expect(await copies.get(record.tenantId, record.mappingId, record.eventId)).toMatchObject({ status: 'placed', attempts: 2 });
    });

    it('refuses a second finish of a finished record', async () => {
      const mine = claimed(await copies.claim(freshRecord(), { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish(placed(mine));

      expect(
        await rejectionOf(copies.finish({ ...mine, completedAt: NOW.toISOString(), latencyMs: 0, status: 'failed', reason: 'BROKER_REJECTED' })),
      ).toBeInstanceOf(ConcurrentUpdateError);
      expect((await copies.get(mine.tenantId, mine.mappingId, mine.eventId))?.status).toBe('placed');
    });

    it('writes the position link and the audit entry with the record', async () => {
      const record = freshRecord();
      const mine = claimed(await copies.claim(record, { now: NOW, leaseMs: LEASE_MS }));
      const link = aLink({ masterTicket: record.masterPositionId!, slaveTicket: 'slave-ticket-9', slaveVolume: 0.2 });

      await copies.finish(placed(mine), { link, audit: auditEntry('tenant-finish', record.id) });

      expect(await copies.get(record.tenantId, record.mappingId, record.eventId)).toEqual(placed(mine));
      expect(await copies.getLink(link.tenantId, link.mappingId, link.masterTicket)).toEqual(link);
      expect((await audit.list('tenant-finish', { limit: 10 })).items).toEqual([
        expect.objectContaining({ ...auditEntry('tenant-finish', record.id), id: expect.any(String) }),
      ]);
    });

    it('records a skip with its reason', async () => {
      const mine = claimed(await copies.claim(freshRecord(), { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish({
        ...mine,
        completedAt: NOW.toISOString(),
        latencyMs: 0,
        status: 'skipped',
        reason: 'VOLUME_BELOW_MIN',
        reasonDetail: 'computed 0.004 lots',
      });
      expect(await copies.get(mine.tenantId, mine.mappingId, mine.eventId)).toMatchObject({
        status: 'skipped',
        reason: 'VOLUME_BELOW_MIN',
        reasonDetail: 'computed 0.004 lots',
      });
    });
  });

  describe('release', () => {
    it('does nothing when released by a stale holder', async () => {
      const record = freshRecord();
      const stale = claimed(await copies.claim(record, { now: NOW, leaseMs: LEASE_MS }));
      await copies.claim(record, { now: later(LEASE_MS + 1), leaseMs: LEASE_MS });

      await copies.release(stale);

      expect(await copies.claim(record, { now: later(LEASE_MS + 2), leaseMs: LEASE_MS })).toEqual({
        outcome: 'busy',
        leaseUntil: later(LEASE_MS + 1).getTime() + LEASE_MS,
      });
    });
  });

  describe('links', () => {
    it('lists only the open links of a mapping', async () => {
      const mappingId = 'mapping-links';
      for (const [masterTicket, closedAt] of [
        ['100', undefined],
        ['101', '2024-03-04T11:00:00.000Z'],
        ['102', undefined],
      ] as const) {
        const mine = claimed(await copies.claim(freshRecord({ mappingId }), { now: NOW, leaseMs: LEASE_MS }));
        await copies.finish(placed(mine), { link: aLink({ mappingId, masterTicket, closedAt }) });
      }
      const other = claimed(await copies.claim(freshRecord({ mappingId: 'mapping-links-2' }), { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish(placed(other), { link: aLink({ mappingId: 'mapping-links-2', masterTicket: '100' }) });

      const open = await copies.listOpenLinks('tenant-a', mappingId);

      expect(open.map((link) => link.masterTicket).toSorted()).toEqual(['100', '102']);
      expect(open.every((link) => link.mappingId === mappingId)).toBe(true);
      expect(await copies.listOpenLinks('tenant-b', mappingId)).toEqual([]);
    });

    it('closes a link by finishing with the link marked closed', async () => {
      const mappingId = 'mapping-close';
      const opening = claimed(await copies.claim(freshRecord({ mappingId }), { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish(placed(opening), { link: aLink({ mappingId, masterTicket: '200' }) });
      const closing = claimed(await copies.claim(freshRecord({ mappingId, action: 'close' }), { now: NOW, leaseMs: LEASE_MS }));
      await copies.finish(placed(closing), { link: aLink({ mappingId, masterTicket: '200', closedAt: '2024-03-04T12:00:00.000Z' }) });

      expect(await copies.listOpenLinks('tenant-a', mappingId)).toEqual([]);
      expect(await copies.getLink('tenant-a', mappingId, '200')).toMatchObject({ closedAt: '2024-03-04T12:00:00.000Z' });
      // The closed link expires a week after it closed (DynamoDB TTL); an open one never does.
      const stored = async (ticket: string) =>
        (
          await tables.client.send(
            new GetItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: 'TENANT#tenant-a' }, sk: { S: `LINK#${mappingId}#${ticket}` } } }),
          )
        ).Item;
      expect(Number((await stored('200'))?.expiresAt?.N)).toBe(Date.parse('2024-03-04T12:00:00.000Z') / 1000 + CLOSED_LINK_TTL_SECONDS);
      await copies.finish(placed(claimed(await copies.claim(freshRecord({ mappingId }), { now: NOW, leaseMs: LEASE_MS }))), {
        link: aLink({ mappingId, masterTicket: '201' }),
      });
      expect((await stored('201'))?.expiresAt).toBeUndefined();
    });
  });

  describe('listByMapping', () => {
    const mappingId = 'mapping-history';
    const times = ['2024-03-04T10:00:00.000Z', '2024-03-04T10:05:00.000Z', '2024-03-04T09:00:00.000Z', '2024-03-04T10:01:00.000Z', '2024-03-04T11:00:00.000Z'];

    beforeAll(async () => {
      for (const detectedAt of times) await copies.claim(freshRecord({ mappingId, detectedAt }), { now: NOW, leaseMs: LEASE_MS });
      await copies.claim(freshRecord({ mappingId, tenantId: 'tenant-b', detectedAt: '2024-03-04T12:00:00.000Z' }), { now: NOW, leaseMs: LEASE_MS });
    });

    it('lists the records of a mapping newest first, page by page', async () => {
      const seen: CopyRecord[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await copies.listByMapping('tenant-a', mappingId, { limit: 2, cursor });
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor);

      expect(seen.map((record) => record.detectedAt)).toEqual(times.toSorted().reverse());
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it("never lists another tenant's records, even under the same mapping id", async () => {
      const { items } = await copies.listByMapping('tenant-b', mappingId, { limit: 10 });
      expect(items.map((record) => record.tenantId)).toEqual(['tenant-b']);
      const all = await copies.listByMapping('tenant-a', mappingId, { limit: 100 });
      expect(all.items.map((record) => record.tenantId)).toEqual(times.map(() => 'tenant-a'));
    });

    it('hides the lease from listed records', async () => {
      const { items } = await copies.listByMapping('tenant-a', mappingId, { limit: 10 });
      expect(items.length).toBeGreaterThan(0);
      for (const record of items) expect(record).not.toHaveProperty('leaseUntil');
    });

    it.each([
      [
        "points into another tenant's partition",
        { pk: 'TENANT#tenant-a', sk: 'COPY#mapping-history#x', gsi1pk: 'COPIES#tenant-a#mapping-history', gsi1sk: '2024' },
      ],
      ["points into another mapping's timeline", { pk: 'TENANT#tenant-b', sk: 'COPY#other#x', gsi1pk: 'COPIES#tenant-b#other', gsi1sk: '2024' }],
      ['lacks the tenant key', { gsi1pk: 'COPIES#tenant-b#mapping-history', gsi1sk: '2024' }],
    ])('refuses a cursor that %s', async (_case, key) => {
      const cursor = Buffer.from(JSON.stringify(key)).toString('base64url');
      const error = await rejectionOf(copies.listByMapping('tenant-b', mappingId, { limit: 1, cursor }));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).errors[0]?.path).toBe('cursor');
    });
  });
});
