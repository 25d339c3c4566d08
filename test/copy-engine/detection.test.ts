import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { SqsSignalQueue } from '../../shared/adapters/sqs/sqs-signal-queue';
import type { CopySignal } from '../../shared/ports/stores';
import { createMapping, deleteMapping, updateMapping } from '../../shared/use-cases/manage-mappings';
import { ConflictError } from '../../shared/domain/errors';
import { createAccount } from '../../shared/use-cases/manage-accounts';
import { syncAccount, type SyncDependencies } from '../../shared/use-cases/sync-accounts';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

describe('detection and fan-out', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  /** Sync dependencies whose signals go to a queue of the test's own, read back by `received`. */
  const isolated = async () => {
    const { sqs } = system.runtime.clients;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: `detect-${Date.now()}-${Math.random().toString(36).slice(2)}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    const deps: SyncDependencies = { ...system.runtime, queue: new SqsSignalQueue(sqs, QueueUrl!), bookRefreshMs: 30_000 };
    const received = async (): Promise<CopySignal[]> => {
      const signals: CopySignal[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (Messages.length === 0) return signals;
        for (const message of Messages) {
          signals.push(JSON.parse(message.Body!) as CopySignal);
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      }
    };
    return { deps, received };
  };

  it('emits each event once when two syncs of the same master run at once', async () => {
    const fixture = await copyFixture(system);
    const { deps, received } = await isolated();
    const mappings = [await system.runtime.mappings.get(fixture.tenantId, fixture.mapping.id)].filter((m) => m !== undefined);
    const master = (await system.runtime.accounts.get(fixture.tenantId, fixture.master.id))!;
    await syncAccount(deps, master, mappings);
    fixture.masterBuy('EURUSD', 0.1);
    fixture.masterBuy('GBPUSD', 0.2);
    const [first, second] = await Promise.all([syncAccount(deps, master, mappings), syncAccount(deps, master, mappings)]);
    expect(first.length + second.length).toBeGreaterThanOrEqual(2); // both saw the opens...
    const signals = await received();
    expect(signals.map((signal) => signal.event.id).sort()).toEqual([...new Set(signals.map((signal) => signal.event.id))].sort());
    expect(signals).toHaveLength(2); // ...and the queue holds each once
    // The book advanced exactly once: a third sync sees nothing new.
    expect(await syncAccount(deps, master, mappings)).toEqual([]);
    expect(await received()).toEqual([]);
  });

  it('sends opens to enabled mappings only, and closes to every mapping so a disabled one still closes what it opened', async () => {
    const fixture = await copyFixture(system);
    const { runtime } = system;
    const otherSlave = await createAccount(runtime, fixture.tenantId, { name: 'other', platform: 'simulated', login: 'o', password: 'pw', server: 'Sim' });
    const disabled = await createMapping(runtime, fixture.tenantId, {
      masterAccountId: fixture.master.id,
      slaveAccountId: otherSlave.id,
      sizing: { mode: 'multiplier', multiplier: 1 },
      enabled: false,
    });
    const { deps, received } = await isolated();
    const master = (await runtime.accounts.get(fixture.tenantId, fixture.master.id))!;
    const mappings = (await runtime.mappings.listAll(fixture.tenantId)).filter((m) => m.masterAccountId === master.id);
    await syncAccount(deps, master, mappings);
    const position = fixture.masterBuy();
    await syncAccount(deps, master, mappings);
    const opens = await received();
    expect(opens.map((signal) => [signal.mappingId, signal.event.kind])).toEqual([[fixture.mapping.id, 'positionOpened']]);
    expect(opens[0]).toMatchObject({ slaveAccountId: fixture.slave.id, tenantId: fixture.tenantId });

    await updateMapping(runtime, fixture.tenantId, fixture.mapping.id, { enabled: false });
    fixture.market.traderClose(fixture.master.id, position.id);
    const nowDisabled = (await runtime.mappings.listAll(fixture.tenantId)).filter((m) => m.masterAccountId === master.id);
    await syncAccount(deps, master, nowDisabled);
    const closes = await received();
    expect(closes.map((signal) => signal.mappingId).sort()).toEqual([disabled.id, fixture.mapping.id].sort());
    expect(closes.every((signal) => signal.event.kind === 'positionClosed')).toBe(true);
  });
});

describe('a disabled mapping', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('copies nothing new but still closes what it opened', async () => {
    const fixture = await copyFixture(system);
    await system.syncNow(false);
    const first = fixture.masterBuy('EURUSD', 0.1);
    await system.syncNow(false);
    await system.drain();
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(1);
    await updateMapping(system.runtime, fixture.tenantId, fixture.mapping.id, { enabled: false });
    fixture.masterBuy('GBPUSD', 0.1);
    await system.syncNow(false);
    await system.drain();
    expect(fixture.market.getPositions(fixture.slave.id).map((p) => p.symbol)).toEqual(['EURUSD']);
    // It cannot be deleted while a copy is open: nothing would close that copy any more.
    await expect(deleteMapping(system.runtime, fixture.tenantId, fixture.mapping.id)).rejects.toBeInstanceOf(ConflictError);
    fixture.market.traderClose(fixture.master.id, first.id);
    await system.syncNow(false);
    await system.drain();
    expect(fixture.market.getPositions(fixture.slave.id)).toHaveLength(0);
    await deleteMapping(system.runtime, fixture.tenantId, fixture.mapping.id);
    expect(await system.runtime.mappings.get(fixture.tenantId, fixture.mapping.id)).toBeUndefined();
  });
});
