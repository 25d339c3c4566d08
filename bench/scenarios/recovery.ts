import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../local/emulators/dynamodb-local';
import { startRuntimeProcess } from '../../local/runtime-process';
import type { Progress } from '../progress';

export interface RecoveryOptions {
  slaves: number;
  /** Master opens made at once; the process dies once `killAfterCopies` copies have landed on the slaves (copying under way). */
  burst: number;
  killAfterCopies: number;
  brokerLatencyMs: number;
  rounds: number;
}

export interface RecoveryRound {
  /** SIGKILL -> the restarted runtime's ready line (JVM, emulators, tables: the process's own start). */
  restartMs: number;
  /** The restarted runtime ready -> every slave holds a copy of every master position. */
  catchUpMs: number;
  /** Copies found on the slaves beyond one per (slave, master position): must be 0. */
  duplicates: number;
  /** Master positions after the burst (the ones that reached the broker before the kill). */
  masterPositions: number;
}

export interface RecoveryResult {
  options: RecoveryOptions;
  rounds: RecoveryRound[];
}

interface BrokerTruth {
  positions: { symbol: string; volume: number; clientId?: string }[];
}

const call = async <T>(url: string, method: string, path: string, body?: unknown, token?: string): Promise<T> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json().catch(() => undefined)) as T;
};

/**
 * The copier killed with SIGKILL in the middle of a burst, then started again on the same
 * DATA_DIR: how long until every slave holds a copy of every master position, and whether
 * anything was placed twice. Real processes, as a user meets it: the queue of the local
 * runtime dies with it, the reconcile of the restarted one sends the lost signals again, and
 * the claims the dead runtime held are taken over at once.
 */
export const runRecovery = async (options: RecoveryOptions, progress: Progress): Promise<RecoveryResult> => {
  const rounds: RecoveryRound[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const dataDir = mkdtempSync(join(tmpdir(), 'mt-copier-bench-recovery-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const first = startRuntimeProcess(dataDir, port, { LOG_LEVEL: 'silent' });
      await first.ready;
      const { token } = await call<{ token: string }>(url, 'POST', '/local/token', { sub: 'recovery' });
      const account = async (name: string) =>
        (await call<{ id: string }>(url, 'POST', '/v1/accounts', { name, platform: 'simulated', login: name, password: 'x', server: 'Sim' }, token)).id;
      const master = await account('master');
      const slaves: string[] = [];
      for (let index = 0; index < options.slaves; index += 1) {
        const slave = await account(`slave-${index}`);
        slaves.push(slave);
        await call(url, 'POST', `/local/simulator/accounts/${slave}/faults`, { latencyMs: options.brokerLatencyMs });
        await call(url, 'POST', '/v1/copy-mappings', { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } }, token);
      }
      const burst = Array.from({ length: options.burst }, (_, index) =>
        call(url, 'POST', `/local/simulator/accounts/${master}/trades`, {
          symbol: index % 2 ? 'EURUSD' : 'GBPUSD',
          side: 'buy',
          volume: (index + 1) / 100,
        }).catch(() => undefined),
      );
      const landed = async () =>
        (await Promise.all(slaves.map((id) => call<BrokerTruth>(url, 'GET', `/local/simulator/accounts/${id}`)))).reduce(
          (sum, book) => sum + book.positions.length,
          0,
        );
      for (const giveUp = Date.now() + 30_000; (await landed()) < options.killAfterCopies && Date.now() < giveUp; )
        await new Promise((resolve) => setTimeout(resolve, 10));
      first.child.kill('SIGKILL');
      const killed = Date.now();
      await first.exited;
      await Promise.all(burst);

      const second = startRuntimeProcess(dataDir, port, { LOG_LEVEL: 'silent' });
      try {
        await second.ready;
        const ready = Date.now();
        const truth = (id: string) => call<BrokerTruth>(url, 'GET', `/local/simulator/accounts/${id}`);
        const wanted = (await truth(master)).positions.map((position) => `${position.symbol} ${position.volume}`).sort();
        let caughtUp = 0;
        let duplicates = 0;
        for (const deadline = Date.now() + 60_000; ; ) {
          const books = await Promise.all(slaves.map(truth));
          const held = books.map((book) => book.positions.map((position) => `${position.symbol} ${position.volume}`).sort());
          caughtUp = held.filter((positions) => JSON.stringify(positions) === JSON.stringify(wanted)).length;
          duplicates = books.reduce((sum, book) => sum + Math.max(0, book.positions.length - new Set(book.positions.map((p) => p.clientId)).size), 0);
          duplicates += held.reduce((sum, positions) => sum + Math.max(0, positions.length - wanted.length), 0);
          if (caughtUp === slaves.length || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const catchUpMs = caughtUp === slaves.length ? Date.now() - ready : Number.POSITIVE_INFINITY;
        rounds.push({ restartMs: ready - killed, catchUpMs, duplicates, masterPositions: wanted.length });
        progress.note(
          `recovery round ${round}: restart ${ready - killed} ms, every slave caught up ${Number.isFinite(catchUpMs) ? `${catchUpMs} ms` : 'NOT within 60 s'} later, ${duplicates} duplicates`,
        );
      } finally {
        second.child.kill('SIGINT');
        await second.exited;
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { options, rounds };
};
