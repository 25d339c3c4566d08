import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Who holds a DATA_DIR: the runtime's process and the DynamoDB Local it started. */
interface LockOwner {
  pid: number;
  databasePid?: number;
  startedAt: string;
}

export interface DataDirLock {
  /** Notes the DynamoDB Local JVM, so a runtime that finds this lock stale can stop it. */
  recordDatabase(pid: number): void;
  release(): void;
}

/** DATA_DIR is held by another runtime that still runs (in another process, `holderPid`, or in this one). */
export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      `${dataDir} is in use by another mt-copier${holderPid === undefined ? ' in this process' : ` (pid ${holderPid})`}; stop it first, or set another DATA_DIR`,
    );
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The command line of a live process (Linux), or undefined where it cannot be read. */
const commandLine = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Locks this process holds: a second runtime in the same process is refused like one in another. */
const held = new Set<string>();

/**
 * Takes `DATA_DIR/runtime.lock`, so two runtimes never work on the same data (two DynamoDB
 * Local JVMs on the same files, two simulators writing one state file). A lock left by a
 * runtime that was killed is taken over, and the DynamoDB Local it had started, if it still
 * runs on this DATA_DIR, is stopped first.
 */
export const lockDataDir = async (dataDir: string): Promise<DataDirLock> => {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'runtime.lock');
  if (held.has(path)) throw new DataDirInUseError(dataDir, undefined);
  const owner: LockOwner = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(owner));
      closeSync(fd);
      held.add(path);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
    }
    let holder: LockOwner | undefined;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    } catch {
      holder = undefined; // torn or empty: its writer died while writing
    }
    if (holder && holder.pid !== process.pid && alive(holder.pid) && (commandLine(holder.pid) ?? 'node').includes('node')) {
      throw new DataDirInUseError(dataDir, holder.pid);
    }
    if (holder?.databasePid && alive(holder.databasePid) && commandLine(holder.databasePid)?.includes(dataDir)) {
      process.kill(holder.databasePid, 'SIGKILL');
      for (let waited = 0; alive(holder.databasePid) && waited < 5000; waited += 50) await sleep(50);
    }
    try {
      unlinkSync(path);
    } catch {
      // Another starter took it over first: the next open tells.
    }
  }
  return {
    recordDatabase(pid: number) {
      owner.databasePid = pid;
      writeFileSync(path, JSON.stringify(owner));
    },
    release() {
      held.delete(path);
      try {
        const holder = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
        if (holder.pid === process.pid) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
};
