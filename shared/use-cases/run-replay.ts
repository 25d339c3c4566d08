import { mappingDefaults, type CopyMapping } from '../domain/copy-mapping';
import { resolveSlaveSymbol } from '../domain/copy-planning';
import { ValidationError } from '../domain/errors';
import { presetLossLimits } from '../domain/loss-limits';
import type { ProtectionRules } from '../domain/protection';
import { replay, type ReplaySummary, type ReplayTrade } from '../domain/replay';
import type { SymbolSpec } from '../domain/trading';
import type { AccountStore, DemoTradeStore, TradeHistoryStore } from '../ports/stores';
import type { BrokerDirectory } from './broker-directory';
import { getAccount, newId } from './manage-accounts';

export interface ReplayDependencies {
  accounts: AccountStore;
  tradeHistory: TradeHistoryStore;
  demoTrades: DemoTradeStore;
  brokers: BrokerDirectory;
  now: () => Date;
}

/** The longest window a replay takes. */
export const MAX_REPLAY_DAYS = 366;

export interface ReplayRequest {
  masterAccountId: string;
  from: string;
  to: string;
  /** The proposed mapping's settings (a mapping's body without its accounts). */
  mapping: Omit<Partial<CopyMapping>, 'id' | 'tenantId' | 'masterAccountId' | 'slaveAccountId'> & Pick<CopyMapping, 'sizing'>;
  protection?: ProtectionRules;
  slaveStartingBalance: number;
  /** The slave's own symbol specs; the master broker's where not given. */
  slaveSymbols?: Record<string, Omit<SymbolSpec, 'symbol'>>;
  /** The slave's platform, for its symbol names. */
  slavePlatform?: string;
}

/**
 * What-if: the master's closed trades in a window (from what the sync stored, demo trades
 * included) run through a proposed mapping and protection with the live copy code. Reads the
 * master broker's symbol specs for the symbols the request does not describe; places nothing.
 */
export const runReplay = async (
  deps: ReplayDependencies,
  tenantId: string,
  request: ReplayRequest,
): Promise<{ id: string; trades: ReplayTrade[]; summary: ReplaySummary }> => {
  const from = new Date(request.from);
  const to = new Date(request.to);
  if (from.getTime() >= to.getTime()) throw new ValidationError('Invalid body: from', [{ path: 'from', message: 'must be before to' }]);
  if (to.getTime() - from.getTime() > MAX_REPLAY_DAYS * 86_400_000) {
    throw new ValidationError('Invalid body: to', [{ path: 'to', message: `the window may span at most ${MAX_REPLAY_DAYS} days` }]);
  }
  const master = await getAccount(deps, tenantId, request.masterAccountId);
  const range = { from: from.toISOString(), to: to.toISOString() };
  const [stored, demo] = await Promise.all([deps.tradeHistory.listTrades(tenantId, master.id, range), deps.demoTrades.list(tenantId, master.id, range)]);
  const trades = [...stored, ...demo];
  const mapping: CopyMapping = {
    ...mappingDefaults,
    ...request.mapping,
    id: 'replay',
    tenantId,
    masterAccountId: master.id,
    slaveAccountId: 'replay',
    // Every trade of the window is new to the proposed mapping.
    activeSince: '1970-01-01T00:00:00.000Z',
    createdAt: range.from,
    updatedAt: range.from,
  };
  const given = request.slaveSymbols ?? {};
  const wanted = [...new Set(trades.map((trade) => resolveSlaveSymbol(trade.symbol, mapping.symbols, request.slavePlatform)))].flatMap((symbol) =>
    symbol.kind === 'symbol' && !given[symbol.slaveSymbol] ? [symbol.slaveSymbol] : [],
  );
  const specs = new Map<string, SymbolSpec | undefined>(Object.entries(given).map(([symbol, spec]) => [symbol, { ...spec, symbol }]));
  // Notional sizing, and a slave's profit in its own contract, need the master's contract sizes, read at the master's broker.
  const masterSymbols = mapping.sizing.mode === 'notional' || request.slaveSymbols ? [...new Set(trades.map((trade) => trade.symbol))] : [];
  const masterSpecs = new Map<string, SymbolSpec | undefined>();
  if (wanted.length > 0 || masterSymbols.length > 0) {
    const port = await deps.brokers.connect(master);
    for (const symbol of [...new Set(wanted)]) specs.set(symbol, await deps.brokers.symbolSpec(master, port, symbol));
    for (const symbol of masterSymbols) masterSpecs.set(symbol, await deps.brokers.symbolSpec(master, port, symbol));
  }
  const protection = request.protection?.preset ? { ...request.protection, lossLimits: presetLossLimits(request.protection.preset) } : request.protection;
  const result = replay({
    trades,
    mapping,
    protection,
    slaveStartingBalance: request.slaveStartingBalance,
    specOf: (symbol) => specs.get(symbol),
    masterBalanceNow: master.balance,
    slavePlatform: request.slavePlatform,
    masterContractSizeOf: (symbol) => masterSpecs.get(symbol)?.contractSize,
  });
  return { id: newId('rpl'), ...result };
};
