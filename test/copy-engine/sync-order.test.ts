import { noMetrics } from '../../shared/ports/metrics';
import { describe, expect, it } from 'vitest';
import { SimulatedBrokerGateway } from '../../local/simulated-broker/simulated-broker-gateway';
import { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import type { CopySignal } from '../../shared/ports/stores';
import { silentLog } from '../../shared/ports/log';
import { BrokerDirectory } from '../../shared/use-cases/broker-directory';
import { syncAccount } from '../../shared/use-cases/sync-accounts';
import { memoryStores } from '../support/memory-stores';
import { aMapping, anAccount } from '../support/fixtures';

/**
 * The sync sends a master's signals before it commits the book it diffed: a send that fails
 * leaves the book where it was, so the next pass finds the same changes and sends them again.
 */
describe('the order of a master sync', () => {
  it('commits no book when the signals could not be sent, and the next pass sends the same events', async () => {
    const now = () => new Date('2024-03-04T10:00:00.000Z');
    const stores = memoryStores(now);
    const market = new SimulatedMarket({ now });
    const master = anAccount({ id: 'master-1', platform: 'simulated' });
    market.openAccount(master.id);
    await stores.accounts.create(master);
    const mapping = aMapping({ masterAccountId: master.id, activeSince: '2024-03-04T09:00:00.000Z', announcedSince: '2024-03-04T09:00:00.000Z' });
    const sent: CopySignal[][] = [];
    let failing = true;
    const deps = {
      ...stores,
      queue: {
        send: async (signals: CopySignal[]) => {
          if (failing) throw new Error('SQS unavailable');
          sent.push(signals);
        },
      },
      brokers: new BrokerDirectory({ simulated: new SimulatedBrokerGateway(market) }),
      now,
      log: silentLog,
      metrics: noMetrics,
      bookRefreshMs: 60_000,
    };
    await syncAccount(deps, master, [mapping]); // the first book: nothing to send
    const before = await stores.books.get(master.tenantId, master.id);
    market.traderTrade(master.id, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });

    await expect(syncAccount(deps, master, [mapping])).rejects.toThrow('SQS unavailable');
    expect(await stores.books.get(master.tenantId, master.id)).toEqual(before);

    failing = false;
    const events = await syncAccount(deps, master, [mapping]);
    expect(events.map((event) => event.kind)).toEqual(['positionOpened']);
    expect(sent.flat().map((signal) => signal.event.id)).toEqual([events[0]!.id]);
    expect((await stores.books.get(master.tenantId, master.id))?.version).toBe(before!.version + 1);
  });
});
