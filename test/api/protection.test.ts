import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount, type ApiClient } from '../support/api-capture';
import { apiClient, startTestSystem, tokenFor } from '../support/local-api';

const TENANT = 'tenant-protection';

const fullRules = {
  maxDailyLossPercent: 5,
  maxDrawdownPercent: 100,
  maxOpenPositions: 3,
  maxVolumePerTrade: 0.5,
  maxTotalVolume: 2,
  allowedSymbols: ['EURUSD', 'XAUUSD'],
  tradingHours: { from: '22:00', to: '06:30', timeZone: 'Europe/London' },
  onBreach: 'closeAll',
};

describe('protection rules of an account', () => {
  let system: LocalSystem;
  let api: ApiClient;
  let slave: string;

  beforeAll(async () => {
    system = await startTestSystem({ manualSync: true });
    api = apiClient(system.url, await tokenFor(system.url, TENANT));
    slave = await createSimulatedAccount(api, 'slave');
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('answers the defaults while no rules are set: stop copying on breach, state ok', async () => {
    const response = await api.get(`/v1/accounts/${slave}/protection`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ onBreach: 'stopCopying', state: 'ok' });
  });

  it('stores every rule and answers them with the state', async () => {
    const put = await api.put(`/v1/accounts/${slave}/protection`, fullRules);
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ ...fullRules, state: 'ok', updatedAt: expect.any(String) });
    expect((await api.get(`/v1/accounts/${slave}/protection`)).body).toEqual(put.body);
    const stored = await system.runtime.protections.get(TENANT, slave);
    expect(stored?.rules).toEqual(fullRules);
  });

  it('replaces the rules as a whole: a rule left out is removed, onBreach defaults to stopCopying', async () => {
    const put = await api.put(`/v1/accounts/${slave}/protection`, { maxOpenPositions: 1 });
    expect(put.body).toEqual({ maxOpenPositions: 1, onBreach: 'stopCopying', state: 'ok', updatedAt: expect.any(String) });
  });

  it('keeps a breach when the rules change, and a reset lifts it and forgets the equity marks', async () => {
    await api.put(`/v1/accounts/${slave}/protection`, { maxDailyLossPercent: 3 });
    const breachedAt = '2024-03-04T10:00:00.000Z';
    await system.runtime.protections.updateStatus(TENANT, slave, {
      state: 'breached',
      breachedAt,
      reason: 'MAX_DAILY_LOSS: 3.10%',
      dayStart: { date: '2024-03-04', equity: 10_000 },
      peakEquity: 10_500,
    });
    expect((await api.get(`/v1/accounts/${slave}/protection`)).body).toMatchObject({ state: 'breached', breachedAt, reason: 'MAX_DAILY_LOSS: 3.10%' });

    const changed = await api.put(`/v1/accounts/${slave}/protection`, { maxDailyLossPercent: 4 });
    expect(changed.body).toMatchObject({ maxDailyLossPercent: 4, state: 'breached', breachedAt });
    expect(changed.body).not.toHaveProperty('dayStart');
    expect(changed.body).not.toHaveProperty('peakEquity');

    const reset = await api.post(`/v1/accounts/${slave}/protection/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ maxDailyLossPercent: 4, onBreach: 'stopCopying', state: 'ok', updatedAt: expect.any(String) });
    expect((await system.runtime.protections.get(TENANT, slave))?.status).toEqual({ state: 'ok' });
  });

  it('answers a reset without rules with the defaults', async () => {
    const other = await createSimulatedAccount(api, 'unprotected');
    const reset = await api.post(`/v1/accounts/${other}/protection/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ onBreach: 'stopCopying', state: 'ok' });
  });

  it.each([
    [{ maxDailyLossPercent: 0 }, 'maxDailyLossPercent'],
    [{ maxDailyLossPercent: -1 }, 'maxDailyLossPercent'],
    [{ maxDrawdownPercent: 100.01 }, 'maxDrawdownPercent'],
    [{ maxOpenPositions: 1.5 }, 'maxOpenPositions'],
    [{ maxOpenPositions: 0 }, 'maxOpenPositions'],
    [{ maxVolumePerTrade: -0.1 }, 'maxVolumePerTrade'],
    [{ maxTotalVolume: 0 }, 'maxTotalVolume'],
    [{ allowedSymbols: [''] }, 'allowedSymbols.0'],
    [{ tradingHours: { from: '24:00', to: '06:00', timeZone: 'UTC' } }, 'tradingHours.from'],
    [{ tradingHours: { from: '9:00', to: '17:00', timeZone: 'UTC' } }, 'tradingHours.from'],
    [{ tradingHours: { from: '09:00', to: '17:60', timeZone: 'UTC' } }, 'tradingHours.to'],
    [{ tradingHours: { from: '09:00', to: '17:00', timeZone: 'Mars/Olympus_Mons' } }, 'tradingHours.timeZone'],
    [{ tradingHours: { from: '09:00', to: '17:00' } }, 'tradingHours.timeZone'],
    [{ onBreach: 'panic' }, 'onBreach'],
    [{ maxLeverage: 10 }, 'maxLeverage'],
  ])('refuses %j naming %s', async (body, field) => {
    const response = await api.put(`/v1/accounts/${slave}/protection`, body);
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { path: string }) => error.path)).toContain(field);
  });

  it('accepts the bounds: 100 percent, a window across midnight, a time zone like America/New_York', async () => {
    const response = await api.put(`/v1/accounts/${slave}/protection`, {
      maxDailyLossPercent: 100,
      maxDrawdownPercent: 0.5,
      tradingHours: { from: '23:00', to: '01:00', timeZone: 'America/New_York' },
    });
    expect(response.status).toBe(200);
  });

  it('removes the rules with the account', async () => {
    const doomed = await createSimulatedAccount(api, 'doomed');
    await api.put(`/v1/accounts/${doomed}/protection`, { maxOpenPositions: 2 });
    expect(await system.runtime.protections.get(TENANT, doomed)).toBeDefined();
    expect((await api.delete(`/v1/accounts/${doomed}`)).status).toBe(204);
    expect(await system.runtime.protections.get(TENANT, doomed)).toBeUndefined();
    expect((await api.get(`/v1/accounts/${doomed}/protection`)).status).toBe(404);
  });
});
