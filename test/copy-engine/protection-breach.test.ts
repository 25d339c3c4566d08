import { describe, expect, it } from 'vitest';
import type { CopySignal } from '../../shared/ports/stores';
import { silentLog } from '../../shared/ports/log';
import { markSlaveEquity } from '../../shared/use-cases/protect-slave';
import { aLink, aMapping } from '../support/fixtures';
import { memoryStores } from '../support/memory-stores';

/**
 * A breach with `onBreach: closeAll` queues a close of every copied position. The closes go
 * out before the breach is written: a queue that fails leaves the slave unbreached, so the
 * next mark finds the breach again and queues them again, never a breached slave with its
 * positions left open.
 */
describe('a closeAll breach', () => {
  const now = () => new Date('2024-03-04T12:00:00.000Z');
  const slave = { tenantId: 'tenant-a', id: 'slave-1' };

  const setUp = async () => {
    const stores = memoryStores(now);
    await stores.mappings.create(aMapping({ id: 'mapping-1', slaveAccountId: slave.id }), { graphVersion: 0 });
    const link = aLink({ mappingId: 'mapping-1', masterTicket: 'p-1', slaveTicket: 's-1' });
    stores.copies.links.set(`${link.tenantId}#${link.mappingId}#${link.masterTicket}`, link);
    await stores.protections.put({
      tenantId: slave.tenantId,
      accountId: slave.id,
      rules: { maxDrawdownPercent: 10, onBreach: 'closeAll' },
      status: { state: 'ok', peakEquity: 10_000 },
      updatedAt: now().toISOString(),
    });
    return stores;
  };

  it('leaves the slave unbreached when the closes could not be queued, and queues them on the next mark', async () => {
    const stores = await setUp();
    const sent: CopySignal[] = [];
    let failing = true;
    const deps = {
      ...stores,
      queue: {
        send: async (signals: CopySignal[]) => {
          if (failing) throw new Error('SQS unavailable');
          sent.push(...signals);
        },
      },
      now,
      log: silentLog,
    };
    const protection = await stores.protections.get(slave.tenantId, slave.id);
    if (!protection) throw new Error('no protection');

    await expect(markSlaveEquity(deps, slave, protection, 8_500)).rejects.toThrow('SQS unavailable');
    expect((await stores.protections.get(slave.tenantId, slave.id))?.status.state).toBe('ok');

    failing = false;
    const marked = await markSlaveEquity(deps, slave, protection, 8_500);
    expect(marked.status.state).toBe('breached');
    expect((await stores.protections.get(slave.tenantId, slave.id))?.status.state).toBe('breached');
    expect(sent.map((signal) => [signal.event.kind, signal.slaveAccountId])).toEqual([['positionClosed', 'slave-1']]);
  });
});
