import { noMetrics } from '../../shared/ports/metrics';
import type { LocalSystem } from '../../local/local-system';
import type { NewMapping } from '../../shared/use-cases/manage-mappings';
import { createAccount } from '../../shared/use-cases/manage-accounts';
import { createMapping } from '../../shared/use-cases/manage-mappings';
import { eventId, type MasterEvent } from '../../shared/domain/master-events';
import type { Position } from '../../shared/domain/trading';
import type { CopySignal } from '../../shared/ports/stores';
import type { CopyDependencies } from '../../shared/use-cases/copy-signal';
import { COPY_DEADLINE_MS, COPY_LEASE_MS } from '../../functions/copy/copy-worker';

let counter = 0;

/** A tenant with a simulated master and slave and one mapping between them, on a test system. */
export const copyFixture = async (
  system: LocalSystem,
  mapping: Omit<NewMapping, 'masterAccountId' | 'slaveAccountId'> = { sizing: { mode: 'multiplier', multiplier: 1 } },
) => {
  counter += 1;
  const tenantId = `tenant-${counter}-${Date.now()}`;
  const { runtime, market } = system;
  const account = (name: string) => createAccount(runtime, tenantId, { name, platform: 'simulated', login: name, password: 'pw', server: 'Sim' });
  const master = await account('master');
  const slave = await account('slave');
  const created = await createMapping(runtime, tenantId, { masterAccountId: master.id, slaveAccountId: slave.id, ...mapping });
  const deps: CopyDependencies = { ...runtime, leaseMs: COPY_LEASE_MS, deadlineMs: COPY_DEADLINE_MS, deferSeconds: 60, metrics: noMetrics };

  /** The signal the sync would send for the master position `position`'s open. */
  const openSignal = (position: Position, detectedAt = new Date()): CopySignal => {
    const event: MasterEvent = {
      id: eventId('positionOpened', position.id, 0),
      kind: 'positionOpened',
      tenantId,
      masterAccountId: master.id,
      detectedAt: detectedAt.toISOString(),
      position: { ...position, rev: 0, detectedAt: detectedAt.toISOString() },
    };
    return { tenantId, mappingId: created.id, masterAccountId: master.id, slaveAccountId: slave.id, event, enqueuedAt: detectedAt.toISOString() };
  };

  const masterBuy = (symbol = 'EURUSD', volume = 0.1) => {
    const { positionId } = market.traderTrade(master.id, { symbol, side: 'buy', volume });
    return market.getPositions(master.id).find((position) => position.id === positionId)!;
  };

  const copies = async () => (await runtime.copies.listByMapping(tenantId, created.id, { limit: 100 })).items;

  return { tenantId, master, slave, mapping: created, deps, openSignal, masterBuy, copies, market, runtime };
};
