import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SimulatorState, SimulatorStateStore } from './simulated-market';

/**
 * The simulator's state in one JSON file. A save writes a temporary file beside it and
 * renames it over the old one, so a crash mid-write leaves either the old or the new state,
 * never a torn file. The folder is created on the first save. A file that exists but cannot
 * be parsed fails the load loudly rather than starting over and losing the accounts.
 */
export const fileSimulatorStateStore = (path: string): SimulatorStateStore => ({
  load(): SimulatorState | undefined {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as SimulatorState;
    } catch (error) {
      throw new Error(`Simulator state file ${path} is not valid JSON`, { cause: error });
    }
  },
  save(state: SimulatorState): void {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, path);
  },
});
