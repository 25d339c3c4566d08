import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createAccount } from '../../shared/use-cases/manage-accounts';
import { copySignal } from '../../shared/use-cases/copy-signal';
import { copyFixture } from '../support/copy-fixture';
import { startTestSystem } from '../support/local-api';

describe('the copy worker checks a signal against its mapping', () => {
  let system: LocalSystem;
  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
  });
  afterAll(async () => system?.stop());

  it('skips a signal that names another slave than its mapping with SIGNAL_MISMATCH, and trades neither account', async () => {
    const fixture = await copyFixture(system);
    const bystander = await createAccount(fixture.runtime, fixture.tenantId, {
      name: 'bystander',
      platform: 'simulated',
      login: 'bystander',
      password: 'pw',
      server: 'Sim',
    });
    const signal = { ...fixture.openSignal(fixture.masterBuy('EURUSD', 0.1)), slaveAccountId: bystander.id };
    const record = await copySignal(fixture.deps, signal);
    expect(record).toMatchObject({ status: 'skipped', reason: 'SIGNAL_MISMATCH' });
    expect(fixture.market.getPositions(bystander.id)).toEqual([]);
    expect(fixture.market.getPositions(fixture.slave.id)).toEqual([]);
  });

  it('skips a signal whose master is not the mapping master with SIGNAL_MISMATCH', async () => {
    const fixture = await copyFixture(system);
    const other = await createAccount(fixture.runtime, fixture.tenantId, {
      name: 'other',
      platform: 'simulated',
      login: 'other',
      password: 'pw',
      server: 'Sim',
    });
    const honest = fixture.openSignal(fixture.masterBuy('EURUSD', 0.1));
    const forged = { ...honest, masterAccountId: other.id, event: { ...honest.event, masterAccountId: other.id } };
    expect(await copySignal(fixture.deps, forged)).toMatchObject({ status: 'skipped', reason: 'SIGNAL_MISMATCH' });
    expect(fixture.market.getPositions(fixture.slave.id)).toEqual([]);
  });

  it("skips a signal whose event belongs to another tenant's master", async () => {
    const fixture = await copyFixture(system);
    const honest = fixture.openSignal(fixture.masterBuy('EURUSD', 0.1));
    const forged = { ...honest, event: { ...honest.event, tenantId: 'someone-else' } };
    expect(await copySignal(fixture.deps, forged)).toMatchObject({ status: 'skipped', reason: 'SIGNAL_MISMATCH' });
    expect(fixture.market.getPositions(fixture.slave.id)).toEqual([]);
  });
});
