import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators/dynamodb-local';
import { apiClient, eventually } from '../support/local-api';

const javaProcessesUsing = (dataDir: string): string[] => {
  try {
    return execFileSync('pgrep', ['-f', dataDir], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
};

/** The newcomer's path: `npm start`, watch the demo copy, Ctrl-C, nothing left running. */
describe('npm start', () => {
  it('prints a ready line, copies the demo master to both slaves, and stops everything on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-start-'));
    const port = await freePort();
    const child = spawn('npm', ['start'], {
      cwd: process.cwd(),
      env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, DEMO: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, like a terminal session: Ctrl-C reaches npm and Node
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      await eventually(async () => (/mt-copier ready at http:\/\/localhost:\d+/.test(output) ? true : undefined), 30_000, 100);
      expect(Date.now() - started).toBeLessThan(30_000);

      const token = /demo token \(12 h\): (\S+)/.exec(await eventually(async () => (output.includes('demo token') ? output : undefined), 10_000))![1]!;
      const api = apiClient(`http://localhost:${port}`, token);
      const mappings = (await api.get('/v1/copy-mappings')).body.items as { id: string }[];
      expect(mappings).toHaveLength(2);
      for (const mapping of mappings) {
        await eventually(
          async () => {
            const { items } = (await api.get(`/v1/copy-mappings/${mapping.id}/copies`)).body;
            return items.some((copy: { status: string }) => copy.status === 'placed') ? true : undefined;
          },
          20_000,
          200,
        );
      }
      expect(output).toMatch(/Demo master -> Demo slave A\s+placed/);
      expect(output).toMatch(/Demo master -> Demo slave B\s+placed/);
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))]);
      if (code === 'hung') process.kill(-child.pid!, 'SIGKILL');
      expect(code).not.toBe('hung');
    }
    await eventually(async () => (javaProcessesUsing(dataDir).length === 0 ? true : undefined), 5_000);
    expect(output).toContain('stopped');
  }, 90_000);
});
