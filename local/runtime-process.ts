import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface RuntimeProcess {
  child: ChildProcessWithoutNullStreams;
  /** Settles when the process has exited, however. */
  exited: Promise<void>;
  /** Settles when the runtime printed its ready line; rejects if it exits or takes a minute. */
  ready: Promise<void>;
  /** What it printed so far (stdout and stderr). */
  output(): string;
}

/**
 * `npm start`'s program (local/main.ts) as a process of its own, on a DATA_DIR and a port,
 * with the demo off: for the tests and the benchmark that kill it for real.
 */
export const startRuntimeProcess = (dataDir: string, port: number, env: Record<string, string> = {}): RuntimeProcess => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, DEMO: 'false', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = (async () => {
    for (const deadline = Date.now() + 60_000; !output.includes('mt-copier ready'); ) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the runtime exited while starting: ${output}`);
      if (Date.now() > deadline) throw new Error(`the runtime did not start within a minute: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  ready.catch(() => undefined);
  return { child, exited, ready, output: () => output };
};
