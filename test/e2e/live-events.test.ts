import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface Received {
  type: string;
  at: string;
  data: Record<string, any>;
  receivedAt: number;
}

/** A frontend's WebSocket: every message kept with the time it arrived. */
const listen = async (url: string, token: string) => {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/events?token=${encodeURIComponent(token)}`);
  const messages: Received[] = [];
  socket.on('message', (raw) => messages.push({ ...JSON.parse(String(raw)), receivedAt: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages };
};

/** What a connection attempt with this query ends in: the HTTP status of a refusal, or `open`. */
const attempt = (url: string): Promise<number | 'open'> =>
  new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      socket.close();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', () => resolve(0));
  });

describe('live events over a WebSocket on the local API port', () => {
  let system: LocalSystem;
  const tenants: Record<'a' | 'b', { api: ReturnType<typeof apiClient>; token: string; master: string; slave: string; mappingId: string }> = {} as never;

  beforeAll(async () => {
    system = await startTestSystem();
    for (const name of ['a', 'b'] as const) {
      const token = await tokenFor(system.url, `tenant-live-${name}`);
      const api = apiClient(system.url, token);
      const master = await createSimulatedAccount(api, `live-${name}-master`);
      const slave = await createSimulatedAccount(api, `live-${name}-slave`);
      const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
      expect(mapping.status).toBe(201);
      tenants[name] = { api, token, master, slave, mappingId: mapping.body.id };
    }
    await system.syncNow(true);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('refuses a connection without a token, with a forged one, and on another path', async () => {
    const base = system.url.replace(/^http/, 'ws');
    expect(await attempt(`${base}/v1/events`)).toBe(401);
    expect(await attempt(`${base}/v1/events?token=not-a-jwt`)).toBe(401);
    const forged = `${tenants.a.token.slice(0, -4)}AAAA`;
    expect(await attempt(`${base}/v1/events?token=${forged}`)).toBe(401);
    expect(await attempt(`${base}/v1/other?token=${tenants.a.token}`)).toBe(404);
    expect(await attempt(`${base}/v1/events?token=${tenants.a.token}`)).toBe('open');
  });

  it("tells a tenant of its copy within a second, and never another tenant's", async () => {
    const a = await listen(system.url, tenants.a.token);
    const b = await listen(system.url, tenants.b.token);
    try {
      const trade = await tenants.a.api.post(`/local/simulator/accounts/${tenants.a.master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
      expect(trade.status).toBe(201);
      const finished = await eventually(async () => a.messages.find((message) => message.type === 'copy.finished' && message.data.action === 'open'), 10_000);
      expect(finished.data).toMatchObject({
        mappingId: tenants.a.mappingId,
        status: 'placed',
        symbol: 'EURUSD',
        masterPositionId: trade.body.positionId,
        slaveVolume: 0.1,
      });
      expect(finished.data).not.toHaveProperty('tenantId');
      expect(finished.data).not.toHaveProperty('clientId');
      expect(finished.at).toBe(finished.data.completedAt);
      expect(finished.receivedAt - Date.parse(finished.data.completedAt)).toBeLessThan(1000);
      // The same copy, as the API lists it.
      const listed = (await tenants.a.api.get(`/v1/copy-mappings/${tenants.a.mappingId}/copies`)).body.items;
      expect(listed.find((copy: { id: string }) => copy.id === finished.data.id)).toEqual(finished.data);

      // Tenant b's own trade reaches b; nothing of a's ever does.
      await tenants.b.api.post(`/local/simulator/accounts/${tenants.b.master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
      await eventually(async () => b.messages.find((message) => message.type === 'copy.finished'), 10_000);
      const aIds = new Set([tenants.a.master, tenants.a.slave, tenants.a.mappingId]);
      for (const message of b.messages) {
        expect(aIds.has(message.data.id) || aIds.has(message.data.mappingId) || aIds.has(message.data.accountId), JSON.stringify(message)).toBe(false);
      }
      for (const message of a.messages) {
        expect(message.data.mappingId === tenants.b.mappingId || message.data.id === tenants.b.master, JSON.stringify(message)).toBe(false);
      }
    } finally {
      a.socket.close();
      b.socket.close();
    }
  });

  it('tells of an account changed, with its roles, and of a protection breached', async () => {
    const a = await listen(system.url, tenants.a.token);
    try {
      expect((await tenants.a.api.patch(`/v1/accounts/${tenants.a.slave}`, { name: 'renamed slave' })).status).toBe(200);
      const updated = await eventually(async () => a.messages.find((message) => message.type === 'account.updated' && message.data.name === 'renamed slave'));
      expect(updated.data).toMatchObject({ id: tenants.a.slave, roles: ['slave'] });
      expect(updated.data).not.toHaveProperty('encryptedPassword');

      // One open position on the slave already (the copy above): a limit of one is breached by the next copy's check.
      await tenants.a.api.put(`/v1/accounts/${tenants.a.slave}/protection`, { maxDailyLossPercent: 5, onBreach: 'stopCopying' });
      await system.syncNow(true);
      const gold = system.market.getQuote('XAUUSD')!;
      await tenants.a.api.post(`/local/simulator/accounts/${tenants.a.master}/trades`, { symbol: 'XAUUSD', side: 'buy', volume: 0.1 });
      await eventually(async () => a.messages.find((message) => message.type === 'copy.finished' && message.data.symbol === 'XAUUSD'), 10_000);
      await system.syncNow(true);
      await tenants.a.api.put('/local/simulator/symbols/XAUUSD', { bid: gold.bid - 100, ask: gold.ask - 100 });
      await system.syncNow(true);
      const breached = await eventually(async () => a.messages.find((message) => message.type === 'protection.breached'), 10_000);
      expect(breached.data).toEqual({ accountId: tenants.a.slave, reason: expect.stringMatching(/MAX_DAILY_LOSS/) });
    } finally {
      a.socket.close();
    }
  });
});
