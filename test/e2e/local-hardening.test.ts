import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirInUseError } from '../../local/data-dir-lock';
import { freePort } from '../../local/emulators/dynamodb-local';
import { startLocalSystem, type LocalSystem } from '../../local/local-system';
import { startRuntimeProcess } from '../../local/runtime-process';
import { silentLog } from '../../shared/ports/log';
import { isLoopback, listeningAddresses } from '../support/listeners';
import { eventually } from '../support/local-api';

const javaProcessesUsing = (dataDir: string): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `java.*${dataDir}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};

/** The local runtime as it runs on a developer's machine: its own emulators, its own DATA_DIR. */
describe('the local runtime keeps to this machine and to its data', () => {
  let system: LocalSystem;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-local-'));
    system = await startLocalSystem({ port: 0, dataDir, masterPollIntervalMs: 1000, log: silentLog, manualSync: true });
  }, 60_000);
  afterAll(async () => system?.stop());

  it('listens on 127.0.0.1 only: the API, DynamoDB Local, the SQS emulator and the local KMS', () => {
    const { databasePid } = JSON.parse(readFileSync(join(dataDir, 'runtime.lock'), 'utf8')) as { databasePid: number };
    const addresses = listeningAddresses([process.pid, databasePid]);
    // API, SQS, KMS in this process; DynamoDB Local in its JVM.
    expect(addresses.length).toBeGreaterThanOrEqual(4);
    expect(listeningAddresses([databasePid]).length).toBeGreaterThanOrEqual(1);
    expect(addresses.filter((address) => !isLoopback(address))).toEqual([]);
  });

  it('answers no web page of another origin on /local/*, and gives none of them CORS headers', async () => {
    const port = new URL(system.url).port;
    const fromPage = await fetch(`${system.url}/local/token`, { method: 'POST', headers: { origin: 'https://evil.example' }, body: '{"sub":"victim"}' });
    expect(fromPage.status).toBe(403);
    expect(fromPage.headers.get('access-control-allow-origin')).toBeNull();
    expect(await fromPage.text()).not.toContain('token');
    const trade = await fetch(`${system.url}/local/simulator/accounts/x/trades`, { method: 'POST', headers: { origin: 'http://localhost:9999' }, body: '{}' });
    expect(trade.status).toBe(403);
    const preflight = await fetch(`${system.url}/local/token`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
    // curl, scripts and the runtime's own origin are served.
    expect((await fetch(`${system.url}/local/token`, { method: 'POST', body: '{"sub":"me"}' })).status).toBe(200);
    expect((await fetch(`${system.url}/local/token`, { method: 'POST', headers: { origin: `http://localhost:${port}` }, body: '{"sub":"me"}' })).status).toBe(
      200,
    );
  });

  it('refuses a second runtime on the same DATA_DIR', async () => {
    await expect(startLocalSystem({ port: 0, dataDir, masterPollIntervalMs: 1000, log: silentLog, manualSync: true })).rejects.toBeInstanceOf(
      DataDirInUseError,
    );
    // The first one still serves.
    expect((await fetch(`${system.url}/health`)).status).toBe(200);
  });
});

describe('a runtime killed hard', () => {
  it('leaves no DynamoDB Local behind, and a restart on the same DATA_DIR serves the same data', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-kill-'));
    const port = await freePort();
    const first = startRuntimeProcess(dataDir, port);
    await first.ready;
    const token = (await (await fetch(`http://127.0.0.1:${port}/local/token`, { method: 'POST', body: '{"sub":"kill"}' })).json()) as { token: string };
    const created = await fetch(`http://127.0.0.1:${port}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kept', platform: 'simulated', login: 'k', password: 'x', server: 'Sim' }),
    });
    expect(created.status).toBe(201);
    expect(javaProcessesUsing(dataDir)).toHaveLength(1);

    first.child.kill('SIGKILL');
    await first.exited;
    await eventually(async () => (javaProcessesUsing(dataDir).length === 0 ? true : undefined), 10_000, 100);

    const second = startRuntimeProcess(dataDir, port);
    try {
      await second.ready;
      expect(javaProcessesUsing(dataDir)).toHaveLength(1);
      const token2 = (await (await fetch(`http://127.0.0.1:${port}/local/token`, { method: 'POST', body: '{"sub":"kill"}' })).json()) as { token: string };
      const listed = await fetch(`http://127.0.0.1:${port}/v1/accounts`, { headers: { authorization: `Bearer ${token2.token}` } });
      expect(((await listed.json()) as { items: { name: string }[] }).items.map((account) => account.name)).toEqual(['kept']);
    } finally {
      second.child.kill('SIGINT');
      await second.exited;
    }
    expect(javaProcessesUsing(dataDir)).toEqual([]);
  }, 120_000);
});
