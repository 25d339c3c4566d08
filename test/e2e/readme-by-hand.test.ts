import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/emulators/dynamodb-local';
import { eventually } from '../support/local-api';
import { exportLines, startNpm } from './npm-start-process';

/** The README's shell blocks marked for this test: a ```bash fence right after `<!-- by-hand -->`. */
const byHandBlocks = (readme: string): string[] => [...readme.matchAll(/<!-- by-hand -->\s*\n```bash\n([\s\S]*?)\n```/g)].map((match) => match[1] as string);

/** A port other than the default 3000: nothing in the README may assume it. */
const portOtherThan3000 = async (): Promise<number> => {
  for (;;) {
    const port = await freePort();
    if (port !== 3000) return port;
  }
};

/** Runs `script` with bash; stops at the first command that fails, and says which. */
const runBash = (script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\ntrap 'echo "FAILED: $BASH_COMMAND" >&2' ERR\n${script}`], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });

describe("the README's by-hand flow", () => {
  it('runs as written, pasted after the export lines `DEMO=false npm start` prints on a port other than 3000, and the slave holds the copy', async () => {
    const blocks = byHandBlocks(readFileSync('README.md', 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(2);

    const port = await portOtherThan3000();
    const npm = startNpm({ PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'mt-copier-readme-')), DEMO: 'false' });
    try {
      await eventually(async () => (npm.output().includes('live events:') ? true : undefined), 40_000, 100);
      const exports = exportLines(npm.output());
      expect(exports.map((line) => line.split('=')[0])).toEqual(['export API', 'export TOKEN']);

      // A shell of the user's own: PATH and HOME, but no API or TOKEN but what npm start printed.
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };
      const { code, stdout, stderr } = await runBash([...exports, ...blocks].join('\n'), env);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n');
      expect(JSON.parse(lines.at(-1) as string)).toEqual({ symbol: 'EURUSD', side: 'buy', volume: 0.2 });
    } finally {
      expect(await npm.interrupt()).not.toBe('hung');
    }
  }, 90_000);
});
