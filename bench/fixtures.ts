import { mappingDefaults, type CopyMapping } from '../shared/domain/copy-mapping';
import type { CopyRecord } from '../shared/domain/copy-record';
import type { SimulatedMarket } from '../local/simulated-broker/simulated-market';
import type { Runtime } from '../shared/runtime/runtime';
import { createAccount, newId } from '../shared/use-cases/manage-accounts';
import type { BenchSystem } from './stack';

/** A simulated account created the way the API creates one (password encrypted with KMS, provisioned at the broker). */
export const simulatedAccount = async (runtime: Runtime, tenantId: string, name: string): Promise<string> =>
  (await createAccount(runtime, tenantId, { name, platform: 'simulated', login: name, password: `${name}-password`, server: 'Sim' })).id;

/**
 * A connected simulated account written straight to its store, for seeding hundreds: the
 * same item as the API writes (password encrypted with KMS for this tenant and account),
 * without the API's provisioning round trips and audit entry.
 */
export const seededAccount = async (runtime: Runtime, market: SimulatedMarket, tenantId: string, name: string): Promise<string> => {
  const id = newId('acc');
  const now = runtime.now().toISOString();
  const encryptedPassword = await runtime.cipher.encrypt(`${name}-password`, { tenantId, accountId: id });
  market.openAccount(id);
  await runtime.accounts.create({
    id,
    tenantId,
    name,
    platform: 'simulated',
    login: name,
    server: 'Sim',
    status: 'connected',
    createdAt: now,
    updatedAt: now,
    encryptedPassword,
    brokerAccountId: id,
  });
  return id;
};

/**
 * A mapping written straight to its store: the API's create checks the tenant's whole
 * mapping graph for cycles, which is quadratic when one tenant seeds a thousand slaves.
 */
const graphTurns = new Map<string, Promise<void>>();
const graphVersions = new Map<string, number>();

export const storedMapping = async (
  runtime: Runtime,
  tenantId: string,
  masterAccountId: string,
  slaveAccountId: string,
  changes: Partial<CopyMapping> = {},
): Promise<CopyMapping> => {
  const now = runtime.now().toISOString();
  const mapping: CopyMapping = {
    ...mappingDefaults,
    id: newId('map'),
    tenantId,
    masterAccountId,
    slaveAccountId,
    sizing: { mode: 'multiplier', multiplier: 1 },
    createdAt: now,
    updatedAt: now,
    ...changes,
  };
  // Creations of one tenant go one after another: each moves the tenant's graph version.
  const turn = (graphTurns.get(tenantId) ?? Promise.resolve()).then(async () => {
    const version = graphVersions.get(tenantId) ?? (await runtime.mappings.graph(tenantId)).version;
    await runtime.mappings.create(mapping, { graphVersion: version });
    graphVersions.set(tenantId, version + 1);
  });
  graphTurns.set(
    tenantId,
    turn.catch(() => undefined),
  );
  await turn;
  return mapping;
};

export { inParallel } from '../shared/runtime/in-parallel';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Finished copies of one master, handed to whoever waits for a master position; records
 * that arrive before anyone waits are kept until asked for.
 */
export class CopyFeed {
  readonly records: CopyRecord[] = [];
  private readonly waiting = new Map<string, ((record: CopyRecord) => void)[]>();
  private readonly unclaimed = new Map<string, CopyRecord[]>();
  private readonly unsubscribe: () => void;

  constructor(
    bench: BenchSystem,
    private readonly masterAccountId: string,
  ) {
    this.unsubscribe = bench.onCopy((record) => {
      if (record.masterAccountId !== this.masterAccountId) return;
      this.records.push(record);
      const key = record.masterPositionId ?? record.masterOrderId ?? '';
      const waiter = this.waiting.get(key)?.shift();
      if (waiter) waiter(record);
      else this.unclaimed.set(key, [...(this.unclaimed.get(key) ?? []), record]);
    });
  }

  /** The next finished copy of the master position, or undefined after `timeoutMs`. */
  next(positionId: string, timeoutMs: number): Promise<CopyRecord | undefined> {
    const early = this.unclaimed.get(positionId)?.shift();
    if (early) return Promise.resolve(early);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const queue = this.waiting.get(positionId) ?? [];
        this.waiting.set(
          positionId,
          queue.filter((entry) => entry !== settle),
        );
        resolve(undefined);
      }, timeoutMs);
      const settle = (record: CopyRecord) => {
        clearTimeout(timer);
        resolve(record);
      };
      this.waiting.set(positionId, [...(this.waiting.get(positionId) ?? []), settle]);
    });
  }

  close(): void {
    this.unsubscribe();
  }
}
