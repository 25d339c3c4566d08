import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

describe('stopping and starting the local runtime on the same data folder', () => {
  it('keeps accounts, mappings, copy records and broker state, and copies nothing twice', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-restart-'));
    // Its own DynamoDB Local on disk and its own SQS emulator, exactly as `npm start` runs them.
    const ownEmulators = { dataDir, dynamoDbEndpoint: undefined, sqsEndpoint: undefined, namePrefix: 'mt-copier' };

    const first = await startTestSystem(ownEmulators);
    let api = apiClient(first.url, await tokenFor(first.url, 'tenant-restart'));
    const account = async (name: string) =>
      (await api.post('/v1/accounts', { name, platform: 'simulated', login: name, password: 'pw', server: 'Sim' })).body.id as string;
    const master = await account('master');
    const slave = await account('slave');
    const mapping = (await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } }))
      .body;
    await first.syncNow();
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'sell', volume: 0.3 });
    await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 1 ? true : undefined));
    await first.stop();

    const second = await startTestSystem(ownEmulators);
    try {
      // The signing secret is kept too: a token from before the restart still works.
      api = apiClient(second.url, (await apiClient(second.url).post('/local/token', { sub: 'tenant-restart' })).body.token);
      expect((await api.get('/v1/accounts')).body.items.map((a: { id: string }) => a.id).sort()).toEqual([master, slave].sort());
      expect((await api.get(`/v1/copy-mappings/${mapping.id}`)).body).toMatchObject({ masterAccountId: master, slaveAccountId: slave });
      const copiesBefore = (await api.get(`/v1/copy-mappings/${mapping.id}/copies`)).body.items;
      expect(copiesBefore).toHaveLength(1);

      for (let pass = 0; pass < 3; pass += 1) await second.syncNow(true);
      await second.drain();
      const slaveBook = (await api.get(`/local/simulator/accounts/${slave}`)).body;
      expect(slaveBook.positions).toHaveLength(1);
      expect(slaveBook.positions[0]).toMatchObject({ symbol: 'EURUSD', side: 'sell', volume: 0.3 });
      expect((await api.get(`/v1/copy-mappings/${mapping.id}/copies`)).body.items).toEqual(copiesBefore);

      // And copying goes on after the restart.
      const position = (await api.get(`/local/simulator/accounts/${master}`)).body.positions[0];
      await api.post(`/local/simulator/accounts/${master}/positions/${position.id}/close`, {});
      await eventually(async () => ((await api.get(`/local/simulator/accounts/${slave}`)).body.positions.length === 0 ? true : undefined));
    } finally {
      await second.stop();
    }
  }, 60_000);
});
