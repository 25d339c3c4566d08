import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators/dynamodb-local';
import { apiClient, eventually } from '../support/local-api';
import { exportLines, startNpm } from './npm-start-process';

const javaProcessesUsing = (dataDir: string): string[] => {
  try {
    return execFileSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};

/** A stack frame as Node prints one (`    at fn (file:line:col)`). */
const STACK_FRAME = /^\s+at .+/m;

/** The newcomer's path: `npm start`, watch the demo copy, Ctrl-C, nothing left running. */
describe('npm start', () => {
  it('prints a ready line and paste lines with the demo token, copies the demo master to both slaves, and stops everything on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-start-'));
    const port = await freePort();
    const npm = startNpm({ PORT: String(port), DATA_DIR: dataDir, DEMO: 'true' });
    try {
      const started = Date.now();
      await eventually(async () => (/mt-copier ready at http:\/\/localhost:\d+/.test(npm.output()) ? true : undefined), 30_000, 100);
      expect(Date.now() - started).toBeLessThan(30_000);

      await eventually(async () => (npm.output().includes('live events:') ? true : undefined), 10_000);
      const [api, token, ...more] = exportLines(npm.output());
      expect(more).toEqual([]);
      expect(api).toBe(`export API=http://localhost:${port}`);
      const printedToken = /^export TOKEN=(\S+)$/.exec(token ?? '')?.[1];
      expect(printedToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(npm.output()).toContain(`API reference: http://localhost:${port}/openapi.json`);
      expect(npm.output()).toContain(`live events:   ws://localhost:${port}/v1/events?token=$TOKEN`);
      expect((await fetch(`http://localhost:${port}/openapi.json`)).status).toBe(200);

      const client = apiClient(`http://localhost:${port}`, printedToken);
      const mappings = (await client.get('/v1/copy-mappings')).body.items as { id: string }[];
      expect(mappings).toHaveLength(2);
      for (const mapping of mappings) {
        await eventually(
          async () => {
            const { items } = (await client.get(`/v1/copy-mappings/${mapping.id}/copies`)).body;
            return items.some((copy: { status: string }) => copy.status === 'placed') ? true : undefined;
          },
          20_000,
          200,
        );
      }
      expect(npm.output()).toMatch(/Demo master -> Demo slave A\s+placed/);
      expect(npm.output()).toMatch(/Demo master -> Demo slave B\s+placed/);
    } finally {
      expect(await npm.interrupt()).not.toBe('hung');
    }
    await eventually(async () => (javaProcessesUsing(dataDir).length === 0 ? true : undefined), 5_000);
    expect(npm.output()).toContain('stopped');
  }, 90_000);

  it('refuses a busy PORT with one line and exit code 1, no stack trace, before it starts anything', async () => {
    const holder: Server = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-busy-'));
    try {
      const npm = startNpm({ PORT: String(port), DATA_DIR: dataDir, DEMO: 'true' });
      const code = await Promise.race([npm.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000))]);
      if (code === 'hung') await npm.interrupt();
      expect(code).toBe(1);
      const ours = npm
        .output()
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('>'));
      expect(ours).toEqual([`Port ${port} is in use: stop what holds it or start with PORT=${port + 1} npm start`]);
      expect(npm.output()).not.toMatch(STACK_FRAME);
      expect(javaProcessesUsing(dataDir)).toEqual([]);
    } finally {
      holder.close();
    }
  }, 45_000);

  it('refuses a DATA_DIR another running mt-copier holds with one line and exit code 1, no stack trace', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-held-'));
    // This test's own Node process stands for the runtime that holds the folder.
    writeFileSync(join(dataDir, 'runtime.lock'), JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    const npm = startNpm({ PORT: String(await freePort()), DATA_DIR: dataDir, DEMO: 'true' });
    const code = await Promise.race([npm.exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000))]);
    if (code === 'hung') await npm.interrupt();
    expect(code).toBe(1);
    const ours = npm
      .output()
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('>'));
    expect(ours).toEqual([
      `Data folder ${dataDir} is in use by another mt-copier (pid ${process.pid}): stop it or start with DATA_DIR=<another folder> npm start`,
    ]);
    expect(npm.output()).not.toMatch(STACK_FRAME);
  }, 45_000);
});
