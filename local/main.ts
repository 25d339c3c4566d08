import { resolve } from 'node:path';
import { consoleLog } from './console-log';
import { formatCopyLine } from './copy-line';
import { DEMO_TENANT, seedDemo, startDemoTrader } from './demo';
import { startLocalSystem } from './local-system';
import { readLocalSettings } from './settings';

/** `npm start`: the whole system on this machine, with a self-trading demo unless DEMO=false. */
const main = async (): Promise<void> => {
  const settings = readLocalSettings(process.env);
  const dataDir = resolve(settings.DATA_DIR);
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
    log: consoleLog(settings.LOG_LEVEL),
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
  });
  let stopTrader = () => {};
  console.log(`mt-copier ready at ${system.url} (data in ${dataDir}; DEMO=${settings.DEMO})`);
  console.log(
    settings.METAAPI_TOKEN
      ? 'mt4/mt5 accounts trade through MetaApi (METAAPI_TOKEN is set)'
      : 'mt4/mt5 accounts need METAAPI_TOKEN (MetaApi API token); simulated accounts work without it',
  );
  if (settings.DEMO) {
    const demo = await seedDemo(system, dataDir);
    system.market.startRandomWalk(1000);
    stopTrader = startDemoTrader(system, demo.masterAccountId);
    const token = await system.auth.issue(DEMO_TENANT);
    console.log(`demo tenant "${DEMO_TENANT}": master ${demo.masterAccountId} copies to ${demo.slaveAccountIds.join(' and ')}`);
    console.log(`demo token (12 h): ${token}`);
    console.log(`try: curl -H "Authorization: Bearer $TOKEN" ${system.url}/v1/copy-mappings/${demo.mappingIds[0]}/copies`);
  }

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

main().catch((error: unknown) => {
  console.error(`mt-copier failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
