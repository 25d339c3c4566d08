import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { createSimulatedAccount } from '../support/api-capture';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

type Copy = { action: string; status: string; reason?: string; reasonDetail?: string; symbol: string; slaveVolume?: number; side?: string };

/**
 * The mapping rules beyond CopyFactory's, end to end: one master copied to six slaves, each
 * mapping with one rule, and the copies list saying what each rule did.
 */
describe('mapping rules through the local runtime', () => {
  let system: LocalSystem;
  let api: ReturnType<typeof apiClient>;
  let master: string;
  const mappings: Record<string, string> = {};

  const copiesOf = (name: string, count: number) =>
    eventually(async () => {
      const { items } = (await api.get(`/v1/copy-mappings/${mappings[name]}/copies`)).body as { items: Copy[] };
      if (items.some((item) => item.status === 'pending')) return undefined;
      return items.length >= count ? items : undefined;
    }, 10_000);

  beforeAll(async () => {
    system = await startTestSystem();
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-mapping-rules'));
    master = await createSimulatedAccount(api, 'rules-master');
    // The slave's broker quotes EURUSD.x ten pips above the master's EURUSD.
    const euro = system.market.getQuote('EURUSD')!;
    expect((await api.put('/local/simulator/symbols/EURUSD.x', { bid: euro.bid + 0.001, ask: euro.ask + 0.001 })).status).toBeLessThan(300);
    const rules: Record<string, Record<string, unknown>> = {
      buysOnly: { allowedSides: 'buy' },
      closeOnly: { mode: 'closeOnly' },
      goldTriple: { symbolOverrides: { XAUUSD: { multiplier: 3, maxVolume: 0.2, reverse: true } } },
      tightStops: { maxStopLossPips: 30 },
      farPrice: { maxPriceDeviationPips: 5, symbols: { map: { EURUSD: 'EURUSD.x' } } },
      smallRisk: { maxTradeRiskPercent: 2 },
    };
    for (const [name, rule] of Object.entries(rules)) {
      const slave = await createSimulatedAccount(api, `rules-${name}`);
      const created = await api.post('/v1/copy-mappings', {
        masterAccountId: master,
        slaveAccountId: slave,
        sizing: { mode: 'multiplier', multiplier: 1 },
        ...rule,
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject(rule);
      mappings[name] = created.body.id;
    }
    await system.syncNow(true);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('applies each rule to the same master trades, with a reason for every skip', async () => {
    const euro = system.market.getQuote('EURUSD')!;
    // A sell with a 50-pip stop: 1 lot risks 500 USD, 5 % of a 10,000 USD slave.
    const sell = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'sell', volume: 1, stopLoss: euro.ask + 0.005 });
    expect(sell.status, sell.text).toBe(201);
    const gold = system.market.getQuote('XAUUSD')!;
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'XAUUSD', side: 'buy', volume: 0.1, stopLoss: gold.bid - 2 });

    const [buysOnly, closeOnly, goldTriple, tightStops, farPrice, smallRisk] = await Promise.all(
      ['buysOnly', 'closeOnly', 'goldTriple', 'tightStops', 'farPrice', 'smallRisk'].map((name) => copiesOf(name, 2)),
    );
    const bySymbol = (copies: Copy[], symbol: string) => copies.find((copy) => copy.symbol === symbol)!;
    expect(bySymbol(buysOnly!, 'EURUSD')).toMatchObject({ status: 'skipped', reason: 'SIDE_FILTERED' });
    expect(bySymbol(buysOnly!, 'XAUUSD')).toMatchObject({ status: 'placed', slaveVolume: 0.1 });
    expect(closeOnly!.map((copy) => copy.reason)).toEqual(['CLOSE_ONLY', 'CLOSE_ONLY']);
    // Gold: 0.1 x 3 = 0.3, capped at 0.2, and sold; EURUSD as the mapping says.
    expect(bySymbol(goldTriple!, 'XAUUSD')).toMatchObject({ status: 'placed', slaveVolume: 0.2, side: 'sell' });
    expect(bySymbol(goldTriple!, 'EURUSD')).toMatchObject({ status: 'placed', slaveVolume: 1, side: 'sell' });
    // 50 pips on EURUSD is over 30; gold's stop 2.00 away is 200 pips (2 digits).
    expect(bySymbol(tightStops!, 'EURUSD')).toMatchObject({ status: 'skipped', reason: 'STOP_LOSS_TOO_WIDE' });
    expect(bySymbol(tightStops!, 'XAUUSD')).toMatchObject({ status: 'skipped', reason: 'STOP_LOSS_TOO_WIDE' });
    expect(bySymbol(farPrice!, 'EURUSD')).toMatchObject({
      status: 'skipped',
      reason: 'PRICE_DEVIATION',
      reasonDetail: expect.stringMatching(/pips from the master's/),
    });
    expect(bySymbol(farPrice!, 'XAUUSD')).toMatchObject({ status: 'placed' });
    expect(bySymbol(smallRisk!, 'EURUSD')).toMatchObject({ status: 'skipped', reason: 'TRADE_RISK_TOO_HIGH' });
    expect(bySymbol(smallRisk!, 'XAUUSD')).toMatchObject({ status: 'placed', slaveVolume: 0.1 });
  });

  it('lets a closeOnly mapping close what it opened before it was switched', async () => {
    const slave = await createSimulatedAccount(api, 'rules-switched');
    const created = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    await system.syncNow(true);
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'buy', volume: 0.1 });
    await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 1 ? true : undefined), 10_000);
    expect((await api.patch(`/v1/copy-mappings/${created.body.id}`, { mode: 'closeOnly' })).status).toBe(200);
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, {});
    await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 0 ? true : undefined), 10_000);
    // What the master held before this mapping started is recorded as such; the rest is the rule's.
    const items = await eventually(async () => {
      const listed = ((await api.get(`/v1/copy-mappings/${created.body.id}/copies`)).body as { items: Copy[] }).items.filter(
        (copy) => copy.reason !== 'OPENED_BEFORE_MAPPING',
      );
      return listed.length === 3 && listed.every((copy) => copy.status !== 'pending') ? listed : undefined;
    }, 10_000);
    expect(items.map((copy) => `${copy.action}:${copy.status}:${copy.reason ?? ''}`).sort()).toEqual([
      'close:placed:',
      'open:placed:',
      'open:skipped:CLOSE_ONLY',
    ]);
  });

  it("closes everything a mapping opened with close-all, recorded as copies, and leaves the master's own trades alone", async () => {
    const slave = await createSimulatedAccount(api, 'rules-close-all');
    const created = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    await system.syncNow(true);
    const first = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    const second = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.2 });
    await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 2 ? true : undefined), 10_000);
    const masterBefore = (await api.get(`/local/simulator/accounts/${master}`)).body.positions.length;

    const closing = await api.post(`/v1/copy-mappings/${created.body.id}/close-all`);
    expect(closing.status).toBe(202);
    expect(closing.body).toEqual({ closing: 2 });
    await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 0 ? true : undefined), 10_000);
    expect((await api.get(`/local/simulator/accounts/${master}`)).body.positions).toHaveLength(masterBefore);
    const closes = await eventually(async () => {
      const { items } = (await api.get(`/v1/copies?mappingId=${created.body.id}&status=placed`)).body as { items: (Copy & { masterPositionId?: string })[] };
      const done = items.filter((copy) => copy.action === 'close');
      return done.length === 2 ? done : undefined;
    }, 10_000);
    expect(closes.map((copy) => copy.masterPositionId).sort()).toEqual([first.body.positionId, second.body.positionId].sort());
    // Nothing is left to close; the master's later close of its own trade copies nothing more.
    expect((await api.post(`/v1/copy-mappings/${created.body.id}/close-all`)).body).toEqual({ closing: 0 });
    await api.post(`/local/simulator/accounts/${master}/positions/${first.body.positionId}/close`, {});
    await system.syncNow(true);
    await system.drain();
    expect((await api.get(`/local/simulator/accounts/${slave}`)).body.positions).toEqual([]);
  });

  it('records the volume a partly filled slave order got, and closes in proportion to what is there', async () => {
    const slave = await createSimulatedAccount(api, 'rules-partial-fill');
    const created = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    await system.syncNow(true);
    expect((await api.post(`/local/simulator/accounts/${slave}/faults`, { partialFillNext: 1 })).status).toBeLessThan(300);
    const trade = await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'USDJPY', side: 'buy', volume: 0.4 });
    const slavePosition = async (volume: number | undefined) =>
      eventually(async () => {
        const { positions } = (await api.get(`/local/simulator/accounts/${slave}`)).body as { positions: { symbol: string; volume: number }[] };
        const yen = positions.find((position) => position.symbol === 'USDJPY');
        return yen?.volume === volume ? true : undefined;
      }, 10_000);
    await slavePosition(0.2);
    const open = await eventually(async () => {
      const { items } = (await api.get(`/v1/copies?mappingId=${created.body.id}&status=placed`)).body as { items: Copy[] };
      return items.find((copy) => copy.action === 'open' && copy.symbol === 'USDJPY');
    }, 10_000);
    expect(open).toMatchObject({ masterVolume: 0.4, slaveVolume: 0.2 });
    // The master closes half: the slave closes half of the 0.2 it holds, not of the 0.4 it asked for.
    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, { volume: 0.2 });
    await slavePosition(0.1);
    await api.post(`/local/simulator/accounts/${master}/positions/${trade.body.positionId}/close`, {});
    await slavePosition(undefined);
  });

  it("copies the expert's trades a mapping takes by magic number, and skips the others with MAGIC_FILTERED", async () => {
    const slave = await createSimulatedAccount(api, 'rules-magic');
    const created = await api.post('/v1/copy-mappings', {
      masterAccountId: master,
      slaveAccountId: slave,
      sizing: { mode: 'multiplier', multiplier: 1 },
      magic: { include: ['1000-1999'] },
    });
    expect(created.status, created.text).toBe(201);
    await system.syncNow(true);
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1, magic: 1500 });
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'buy', volume: 0.1, magic: 2000 });
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'USDJPY', side: 'buy', volume: 0.1 });
    const copies = await eventually(async () => {
      const { items } = (await api.get(`/v1/copies?mappingId=${created.body.id}`)).body as { items: (Copy & { masterPositionId?: string })[] };
      const fresh = items.filter((copy) => copy.reason !== 'OPENED_BEFORE_MAPPING');
      return fresh.length === 3 && fresh.every((copy) => copy.status !== 'pending') ? fresh : undefined;
    }, 10_000);
    expect(Object.fromEntries(copies.map((copy) => [copy.symbol, copy.reason ?? copy.status]))).toEqual({
      EURUSD: 'placed',
      GBPUSD: 'MAGIC_FILTERED',
      USDJPY: 'MAGIC_FILTERED',
    });
    expect(
      (
        await api.post('/v1/copy-mappings', {
          masterAccountId: master,
          slaveAccountId: slave,
          sizing: { mode: 'multiplier', multiplier: 1 },
          magic: { include: ['9-1'] },
        })
      ).status,
    ).toBe(400);
  });

  it('sends an order the broker refuses for its filling mode again with the next mode, and fails it BROKER_INVALID_FILL when none is left', async () => {
    const slave = await createSimulatedAccount(api, 'rules-filling');
    const created = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    await system.syncNow(true);
    const copyOf = (symbol: string) =>
      eventually(async () => {
        const { items } = (await api.get(`/v1/copies?mappingId=${created.body.id}`)).body as { items: Copy[] };
        return items.find((copy) => copy.symbol === symbol && copy.action === 'open' && copy.status !== 'pending' && copy.reason !== 'OPENED_BEFORE_MAPPING');
      }, 10_000);
    // The broker's own choice is refused once: IOC is tried and fills.
    await api.post(`/local/simulator/accounts/${slave}/faults`, { rejectNext: 1, code: 'INVALID_FILL' });
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'sell', volume: 0.1 });
    expect(await copyOf('EURUSD')).toMatchObject({ status: 'placed', slaveVolume: 0.1 });
    // Refused three times: the broker's choice, IOC and RETURN. Nothing is left; nothing is retried.
    await api.post(`/local/simulator/accounts/${slave}/faults`, { rejectNext: 3, code: 'INVALID_FILL' });
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    expect(await copyOf('GBPUSD')).toMatchObject({ status: 'failed', reason: 'BROKER_INVALID_FILL' });
    expect((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.map((position: { symbol: string }) => position.symbol)).toEqual(['EURUSD']);
  });
});
