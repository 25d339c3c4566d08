import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { consoleLog, warningsOncePerChange } from './console-log';
import { formatCopyLine } from './copy-line';
import { DataDirInUseError } from './data-dir-lock';
import { DEMO_TENANT, seedDemo, startDemoTrader } from './demo';
import { startLocalSystem } from './local-system';
import { type LocalSettings, readLocalSettings } from './settings';

/** A start refused for a reason the user can act on: its message is the one line printed. */
class StartRefusedError extends Error {
  override readonly name = 'StartRefusedError';
}

const portRefusal = (port: number, code: string | undefined): StartRefusedError | undefined => {
  const another = port === 65_535 || port === 0 ? 3001 : port + 1;
  if (code === 'EADDRINUSE') return new StartRefusedError(`Port ${port} is in use: stop what holds it or start with PORT=${another} npm start`);
  if (code === 'EACCES') return new StartRefusedError(`Port ${port} is not open to this user: start with PORT=${another} npm start`);
  return undefined;
};

/**
 * Refuses a busy PORT before anything starts (DynamoDB Local takes seconds), with one line
 * instead of the server's EADDRINUSE stack trace. PORT=0 (any free port) needs no check.
 */
const ensurePortFree = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    if (port === 0) return resolve();
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(portRefusal(port, error.code) ?? error));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });

/** The lines a newcomer pastes into another terminal: where the API is, a token, and what to try. */
const nextSteps = (url: string, demo: { token: string; copiesPath: string } | undefined): string[] => [
  demo
    ? `Paste into another terminal (TOKEN is the demo tenant's, valid 12 h; a token's "sub" is its tenant):`
    : `Paste into another terminal: a token for your own tenant (its "sub", "me" here, is the tenant; needs jq), then your first account:`,
  `export API=${url}`,
  demo ? `export TOKEN=${demo.token}` : `export TOKEN=$(curl -fsS -XPOST $API/local/token -d '{"sub":"me"}' | jq -r .token)`,
  demo
    ? `curl -fsS -H "Authorization: Bearer $TOKEN" $API${demo.copiesPath}`
    : `curl -fsS -H "Authorization: Bearer $TOKEN" $API/v1/accounts -d '{"name":"master","platform":"simulated","login":"1","password":"x","server":"Sim"}'`,
  ...(demo ? [] : ['More in README.md, "Trying it by hand".']),
  `API reference: ${url}/openapi.json`,
  `live events:   ${url.replace(/^http/, 'ws')}/v1/events?token=$TOKEN`,
];

/** `npm start`: the whole system on this machine, with a self-trading demo unless DEMO=false. */
const main = async (settings: LocalSettings): Promise<void> => {
  const dataDir = resolve(settings.DATA_DIR);
  await ensurePortFree(settings.PORT);
  const names = new Map<string, string>();
  const nameOf = async (tenantId: string, accountId: string, lookup: (t: string, a: string) => Promise<{ name: string } | undefined>) => {
    const known = names.get(accountId);
    if (known !== undefined) return known;
    const name = (await lookup(tenantId, accountId))?.name ?? accountId;
    names.set(accountId, name);
    return name;
  };
  const system = await startLocalSystem({
    port: settings.PORT,
    dataDir,
    masterPollIntervalMs: settings.MASTER_POLL_INTERVAL_MS,
    slaveSyncIntervalMs: settings.SLAVE_SYNC_INTERVAL_MS,
    // Eight slaves' queues served at once: what a burst after a restart needs to catch up in seconds.
    consumers: 8,
    // An account that cannot be synced warns once, not on every pass (every 5 s).
    log: warningsOncePerChange(consoleLog(settings.LOG_LEVEL)),
    metaApiToken: settings.METAAPI_TOKEN,
    settings: {
      CORS_ORIGIN: settings.CORS_ORIGIN,
      RATE_LIMIT_PER_MINUTE: String(settings.RATE_LIMIT_PER_MINUTE),
      TRADE_RATE_LIMIT_PER_MINUTE: String(settings.TRADE_RATE_LIMIT_PER_MINUTE),
    },
    onCopyFinished: (record, runtime) => {
      const lookup = (t: string, a: string) => runtime.accounts.get(t, a);
      void Promise.all([nameOf(record.tenantId, record.masterAccountId, lookup), nameOf(record.tenantId, record.slaveAccountId, lookup)]).then(
        ([master, slave]) => console.log(formatCopyLine(record, { master, slave })),
      );
    },
  }).catch((error: unknown) => {
    // The port taken while the emulators started: the same line, once the server's listen rejects on it.
    throw portRefusal(settings.PORT, (error as NodeJS.ErrnoException).code) ?? error;
  });
  let stopTrader = () => {};
  console.log(`mt-copier ready at ${system.url} (data in ${dataDir}; DEMO=${settings.DEMO})`);
  console.log(
    settings.METAAPI_TOKEN
      ? 'mt4/mt5 accounts trade through MetaApi (METAAPI_TOKEN is set)'
      : 'mt4/mt5 accounts need METAAPI_TOKEN (MetaApi API token); simulated accounts work without it',
  );
  let demoSteps: { token: string; copiesPath: string } | undefined;
  if (settings.DEMO) {
    const demo = await seedDemo(system, dataDir);
    system.market.startRandomWalk(1000);
    stopTrader = startDemoTrader(system, demo.masterAccountId);
    console.log(`demo tenant "${DEMO_TENANT}": master ${demo.masterAccountId} copies to ${demo.slaveAccountIds.join(' and ')}`);
    demoSteps = { token: await system.auth.issue(DEMO_TENANT), copiesPath: `/v1/copy-mappings/${demo.mappingIds[0]}/copies` };
  }
  console.log(['', ...nextSteps(system.url, demoSteps), ''].join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping (copying what is already detected, then the emulators)...`);
    stopTrader();
    await system.stop();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
};

/** One line for what the user can fix (a busy port or data folder, a bad setting), no stack trace. */
const startFailure = (error: unknown): string => {
  if (error instanceof StartRefusedError) return error.message;
  if (error instanceof DataDirInUseError) {
    const holder = error.holderPid === undefined ? '' : ` (pid ${error.holderPid})`;
    return `Data folder ${error.dataDir} is in use by another mt-copier${holder}: stop it or start with DATA_DIR=<another folder> npm start`;
  }
  return `mt-copier failed to start: ${error instanceof Error ? error.message : String(error)}`;
};

Promise.resolve()
  .then(() => main(readLocalSettings(process.env)))
  .catch((error: unknown) => {
    console.error(startFailure(error));
    process.exit(1);
  });
