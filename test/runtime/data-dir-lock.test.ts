import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../local/data-dir-lock';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the DATA_DIR lock', () => {
  it('keeps a second holder off while the first holds it, and lets the next one in after release', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-lock-'));
    const lock = await lockDataDir(dataDir);
    await expect(lockDataDir(dataDir)).rejects.toBeInstanceOf(DataDirInUseError);
    lock.release();
    expect(existsSync(join(dataDir, 'runtime.lock'))).toBe(false);
    (await lockDataDir(dataDir)).release();
  });

  it('refuses a DATA_DIR whose holder is another live Node process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-lock-'));
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'runtime.lock'), JSON.stringify({ pid: other.pid, startedAt: new Date().toISOString() }));
      await expect(lockDataDir(dataDir)).rejects.toThrow(`pid ${other.pid}`);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over the lock of a runtime that was killed, and stops the database it left running on that DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-lock-'));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    // Stands in for the orphaned DynamoDB Local: a process whose command line names the DATA_DIR.
    const orphan = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', join(dataDir, 'dynamodb')], { stdio: 'ignore' });
    const unrelated = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dataDir, 'runtime.lock'), JSON.stringify({ pid: dead, databasePid: orphan.pid, startedAt: new Date().toISOString() }));
      const lock = await lockDataDir(dataDir);
      expect(alive(orphan.pid!)).toBe(false);
      lock.release();
      // A database pid that now belongs to a process of another DATA_DIR is left alone.
      writeFileSync(join(dataDir, 'runtime.lock'), JSON.stringify({ pid: dead, databasePid: unrelated.pid, startedAt: new Date().toISOString() }));
      (await lockDataDir(dataDir)).release();
      expect(alive(unrelated.pid!)).toBe(true);
    } finally {
      orphan.kill('SIGKILL');
      unrelated.kill('SIGKILL');
    }
  });
});
