import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSystem } from '../../local/local-system';
import { apiClient, eventually, startTestSystem, tokenFor } from '../support/local-api';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [field: string]: unknown;
}

/** The metric values of the EMF lines that carry `name`, with each line's dimension values. */
const pointsOf = (lines: Emf[], name: string) =>
  lines
    .filter((line) => line._aws.CloudWatchMetrics.some((directive) => directive.Metrics.some((metric) => metric.Name === name)))
    .map((line) => ({
      value: line[name],
      dimensions: Object.fromEntries(line._aws.CloudWatchMetrics[0]?.Dimensions[0]?.map((dimension) => [dimension, line[dimension]]) ?? []),
    }));

describe('metrics of a local copy, as CloudWatch embedded metric format lines', () => {
  let system: LocalSystem;
  const written: string[] = [];
  const lines = () => written.map((line) => JSON.parse(line) as Emf);
  let api: ReturnType<typeof apiClient>;
  let master: string;
  let slave: string;
  let mappingId: string;

  beforeAll(async () => {
    system = await startTestSystem({ metricsWrite: (line) => written.push(line) });
    api = apiClient(system.url, await tokenFor(system.url, 'tenant-metrics'));
    const account = async (name: string) =>
      (await api.post('/v1/accounts', { name, platform: 'simulated', login: name, password: `${name}-secret`, server: 'Sim' })).body.id as string;
    master = await account('master');
    slave = await account('slave');
    const mapping = await api.post('/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    expect(mapping.status).toBe(201);
    mappingId = mapping.body.id;
    await system.syncNow();
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('writes the latency and the outcome of a copy, the signals sent and the detection lag, and the sync pass duration', async () => {
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'EURUSD', side: 'buy', volume: 0.1 });
    await eventually(async () => (pointsOf(lines(), 'Copies').length > 0 ? true : undefined));
    await system.syncNow();

    for (const line of lines()) {
      expect(line._aws.CloudWatchMetrics[0]?.Namespace).toBe('MtCopier');
      expect(typeof line._aws.Timestamp).toBe('number');
      expect(line.service).toBe('mt-copier-local');
    }
    const [latency] = pointsOf(lines(), 'CopyLatency');
    expect(latency?.value).toEqual(expect.any(Number));
    expect(latency?.value as number).toBeGreaterThan(0);
    expect(latency?.value as number).toBeLessThan(10_000);
    expect(pointsOf(lines(), 'Copies')).toEqual([{ value: 1, dimensions: { service: 'mt-copier-local', action: 'open', status: 'placed', reason: 'NONE' } }]);
    // The broker's time and the signals sent ride on the lines as properties, not as metrics of their own.
    expect(lines().find((line) => pointsOf([line], 'CopyLatency').length > 0)?.brokerMs).toEqual(expect.any(String));
    expect(lines().find((line) => pointsOf([line], 'DetectionLag').length > 0)).toMatchObject({ signalsSent: '1', masterAccountId: master });
    expect(pointsOf(lines(), 'SignalsSent')).toEqual([]);
    expect(pointsOf(lines(), 'BrokerTime')).toEqual([]);
    expect(pointsOf(lines(), 'DetectionLag')[0]?.value).toEqual(expect.any(Number));
    expect(pointsOf(lines(), 'SyncPassDuration').length).toBeGreaterThan(0);
  });

  it('counts a skip under its reason code', async () => {
    expect((await api.patch(`/v1/copy-mappings/${mappingId}`, { symbols: { exclude: ['GBPUSD'] } })).status).toBe(200);
    await api.post(`/local/simulator/accounts/${master}/trades`, { symbol: 'GBPUSD', side: 'sell', volume: 0.1 });
    const skipped = await eventually(async () => pointsOf(lines(), 'Copies').find((point) => point.dimensions.status === 'skipped'));
    expect(skipped).toEqual({ value: 1, dimensions: { service: 'mt-copier-local', action: 'open', status: 'skipped', reason: 'SYMBOL_FILTERED' } });
  });
});
