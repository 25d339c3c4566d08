import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDemoTradeStore } from '../../../shared/adapters/dynamodb/demo-trade-store';
import { DynamoProtectionStore } from '../../../shared/adapters/dynamodb/protection-store';
import { DynamoRateLimiter } from '../../../shared/adapters/dynamodb/rate-limiter';
import type { ClosedTrade } from '../../../shared/domain/trading';
import { createTestTables, type TestTables } from '../../support/dynamo';

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables('api-stores');
});

afterAll(async () => {
  await tables?.drop();
});

const aTrade = (id: string, closedAt: string): ClosedTrade => ({
  id,
  positionId: id,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  openPrice: 1.1,
  closePrice: 1.11,
  profit: 100,
  openedAt: '2024-01-01T00:00:00.000Z',
  closedAt,
});

describe('DynamoRateLimiter', () => {
  const limiter = () => new DynamoRateLimiter(tables.main);
  const at = (iso: string) => ({ tenantId: 'tenant-rate', bucket: 'api' as const, limit: 3, windowMs: 60_000, now: new Date(iso) });

  it('allows the limit in a window, refuses the rest with the seconds left, and starts again in the next', async () => {
    const decisions = [];
    for (let i = 0; i < 5; i += 1) decisions.push(await limiter().hit(at('2024-03-04T10:00:15.000Z')));
    expect(decisions).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterSeconds: 45 },
      { allowed: false, retryAfterSeconds: 45 },
    ]);
    expect(await limiter().hit(at('2024-03-04T10:01:00.000Z'))).toEqual({ allowed: true });
  });

  it('counts concurrent requests from several instances exactly', async () => {
    const request = { tenantId: 'tenant-burst', bucket: 'trade' as const, limit: 7, windowMs: 60_000, now: new Date('2024-03-04T10:00:00.000Z') };
    const decisions = await Promise.all(Array.from({ length: 20 }, () => new DynamoRateLimiter(tables.main).hit(request)));
    expect(decisions.filter((decision) => decision.allowed)).toHaveLength(7);
  });

  it('keeps one item per tenant, bucket and window, which TTL removes after the window', async () => {
    await limiter().hit({ ...at('2024-03-04T11:00:05.000Z'), tenantId: 'tenant-ttl', bucket: 'trade' });
    const start = Date.parse('2024-03-04T11:00:00.000Z');
    const { Item } = await tables.client.send(
      new GetItemCommand({ TableName: tables.main.tableName, Key: { pk: { S: 'RATE#tenant-ttl' }, sk: { S: `trade#${start}` } } }),
    );
    expect(Item?.requests?.N).toBe('1');
    expect(Number(Item?.expiresAt?.N)).toBeGreaterThanOrEqual((start + 60_000) / 1000);
  });
});

describe('DynamoProtectionStore', () => {
  it("keeps each tenant's rules and state apart, even for the same account id", async () => {
    const store = new DynamoProtectionStore(tables.main);
    const rules = (maxOpenPositions: number) => ({ maxOpenPositions, onBreach: 'stopCopying' as const });
    await store.put({ tenantId: 'tenant-a', accountId: 'acc-1', rules: rules(3), updatedAt: '2024-03-04T10:00:00.000Z' });
    await store.put({ tenantId: 'tenant-b', accountId: 'acc-1', rules: rules(7), updatedAt: '2024-03-04T10:00:00.000Z' });
    await store.updateStatus('tenant-b', 'acc-1', { state: 'breached', reason: 'MAX_DAILY_LOSS' });
    expect(await store.get('tenant-a', 'acc-1')).toMatchObject({ rules: { maxOpenPositions: 3 }, status: { state: 'ok' } });
    expect(await store.get('tenant-b', 'acc-1')).toMatchObject({ rules: { maxOpenPositions: 7 }, status: { state: 'breached' } });
    await store.delete('tenant-a', 'acc-1');
    expect(await store.get('tenant-a', 'acc-1')).toBeUndefined();
    expect(await store.get('tenant-b', 'acc-1')).toBeDefined();
    expect(await store.get('tenant-c', 'acc-1')).toBeUndefined();
  });
});

describe('DynamoDemoTradeStore', () => {
  it('lists the demo trades of one account closed in the range [from, to), and deletes them', async () => {
    const store = new DynamoDemoTradeStore(tables.main);
    await store.add('tenant-demo', 'acc-1', [
      aTrade('t1', '2024-03-01T00:00:00.000Z'),
      aTrade('t2', '2024-03-02T00:00:00.000Z'),
      aTrade('t3', '2024-03-03T00:00:00.000Z'),
    ]);
    await store.add('tenant-demo', 'acc-2', [aTrade('t4', '2024-03-02T00:00:00.000Z')]);
    await store.add('tenant-other', 'acc-1', [aTrade('t5', '2024-03-02T00:00:00.000Z')]);
    const listed = await store.list('tenant-demo', 'acc-1', { from: '2024-03-02T00:00:00.000Z', to: '2024-03-03T00:00:00.000Z' });
    expect(listed).toEqual([aTrade('t2', '2024-03-02T00:00:00.000Z')]);
    await store.deleteAll('tenant-demo', 'acc-1');
    expect(await store.list('tenant-demo', 'acc-1', { from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' })).toEqual([]);
    expect(await store.list('tenant-demo', 'acc-2', { from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' })).toHaveLength(1);
    expect(await store.list('tenant-other', 'acc-1', { from: '2024-01-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' })).toHaveLength(1);
  });
});

describe('DynamoProtectionStore.put', () => {
  it('keeps the status when rules change, sets it when given, and starts ok', async () => {
    const store = new DynamoProtectionStore(tables.main);
    const rules = { maxOpenPositions: 2, onBreach: 'stopCopying' as const };
    await store.put({ tenantId: 'tenant-p', accountId: 'acc-1', rules, updatedAt: '2024-03-04T10:00:00.000Z' });
    expect((await store.get('tenant-p', 'acc-1'))?.status).toEqual({ state: 'ok' });
    const breached = { state: 'breached' as const, breachedAt: '2024-03-04T11:00:00.000Z', reason: 'MAX_DRAWDOWN: 10.00%', peakEquity: 11_000 };
    await store.updateStatus('tenant-p', 'acc-1', breached);
    await store.put({ tenantId: 'tenant-p', accountId: 'acc-1', rules: { ...rules, maxOpenPositions: 3 }, updatedAt: '2024-03-04T12:00:00.000Z' });
    expect(await store.get('tenant-p', 'acc-1')).toEqual({
      tenantId: 'tenant-p',
      accountId: 'acc-1',
      rules: { ...rules, maxOpenPositions: 3 },
      status: breached,
      updatedAt: '2024-03-04T12:00:00.000Z',
    });
    await store.put({ tenantId: 'tenant-p', accountId: 'acc-1', rules, status: { state: 'ok' }, updatedAt: '2024-03-04T13:00:00.000Z' });
    expect((await store.get('tenant-p', 'acc-1'))?.status).toEqual({ state: 'ok' });
  });
});
