import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** `npm start` as a newcomer runs it in a terminal: its own process group, its output gathered. */
export interface NpmStart {
  child: ChildProcessWithoutNullStreams;
  /** stdout and stderr so far, interleaved as they came. */
  output(): string;
  /** The exit code once it ended (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Ctrl-C (SIGINT to the group); SIGKILL when it has not ended within 20 s. Resolves with the code, or 'hung'. */
  interrupt(): Promise<number | null | 'hung'>;
}

export const startNpm = (env: Record<string, string>): NpmStart => {
  const child = spawn('npm', ['start'], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, like a terminal session: Ctrl-C reaches npm and Node
  });
  child.stdin.end();
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const interrupt = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    process.kill(-(child.pid as number), 'SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 20_000))]);
    if (code === 'hung') process.kill(-(child.pid as number), 'SIGKILL');
    return code;
  };
  return { child, output: () => output, exited, interrupt };
};

/** The `export NAME=value` lines `npm start` prints for pasting, in order, as printed. */
export const exportLines = (output: string): string[] => output.split('\n').filter((line) => /^export [A-Z_]+=/.test(line));
