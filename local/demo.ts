import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Side } from '../shared/domain/trading';
import { createAccount } from '../shared/use-cases/manage-accounts';
import { createMapping } from '../shared/use-cases/manage-mappings';
import type { LocalSystem } from './local-system';
import { required } from '../shared/domain/required';

export const DEMO_TENANT = 'demo-trader';

interface DemoState {
  tenantId: string;
  masterAccountId: string;
  slaveAccountIds: string[];
  mappingIds: string[];
}

/**
 * Seeds the demo tenant once (kept in DATA_DIR/demo.json): one master, two slaves, one
 * mapping that doubles the master's volume and one that halves it and renames nothing.
 */
export const seedDemo = async (system: LocalSystem, dataDir: string): Promise<DemoState> => {
  const path = join(dataDir, 'demo.json');
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as DemoState;
  const { runtime } = system;
  const account = (name: string, login: string) =>
    createAccount(runtime, DEMO_TENANT, { name, platform: 'simulated', login, password: `demo-${login}-password`, server: 'Simulated-Demo' });
  const master = await account('Demo master', '1001');
  const slaveA = await account('Demo slave A', '2001');
  const slaveB = await account('Demo slave B', '2002');
  const doubled = await createMapping(runtime, DEMO_TENANT, {
    masterAccountId: master.id,
    slaveAccountId: slaveA.id,
    sizing: { mode: 'multiplier', multiplier: 2 },
  });
  const halved = await createMapping(runtime, DEMO_TENANT, {
    masterAccountId: master.id,
    slaveAccountId: slaveB.id,
    sizing: { mode: 'multiplier', multiplier: 0.5 },
  });
  const state: DemoState = { tenantId: DEMO_TENANT, masterAccountId: master.id, slaveAccountIds: [slaveA.id, slaveB.id], mappingIds: [doubled.id, halved.id] };
  writeFileSync(path, JSON.stringify(state, null, 2));
  return state;
};

const symbols = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];

/**
 * A trader on the demo master, in its own terminal: every few seconds it opens, modifies,
 * partially closes or closes a position, so copies keep flowing without anyone typing.
 */
export const startDemoTrader = (system: LocalSystem, masterAccountId: string, everyMs = 3000, random = Math.random): (() => void) => {
  const act = () => demoTraderStep(system, masterAccountId, random);
  act();
  const timer = setInterval(act, everyMs);
  return () => clearInterval(timer);
};

/**
 * One move of the demo trader: opens, moves a stop, partially closes or closes. A move the
 * market refuses (e.g. a stop too close after a price jump) is simply not made.
 */
export const demoTraderStep = (system: LocalSystem, masterAccountId: string, random: () => number = Math.random): void => {
  const { market } = system;
  const pick = <T>(items: readonly T[]): T => required(items[Math.floor(random() * items.length)], 'an item to pick');
  try {
    const positions = market.getPositions(masterAccountId);
    const roll = random();
    if (positions.length === 0 || (positions.length < 3 && roll < 0.5)) {
      const symbol = pick(symbols);
      const side: Side = random() < 0.5 ? 'buy' : 'sell';
      const volume = Number((0.1 * (1 + Math.floor(random() * 5))).toFixed(2));
      market.traderTrade(masterAccountId, { symbol, side, volume: symbol === 'XAUUSD' ? 0.1 : volume });
      return;
    }
    const position = pick(positions);
    if (roll < 0.65) {
      const quote = required(market.getQuote(position.symbol), `a quote of ${position.symbol}`);
      const distance = (quote.ask - quote.bid) * 40;
      const stopLoss = position.side === 'buy' ? quote.bid - distance : quote.ask + distance;
      market.traderModify(masterAccountId, position.id, {
        stopLoss: Number(stopLoss.toFixed(required(market.getSymbolSpec(position.symbol), `the spec of ${position.symbol}`).digits)),
      });
    } else if (roll < 0.8 && position.volume >= 0.2) {
      market.traderClose(masterAccountId, position.id, Number((position.volume / 2).toFixed(1)));
    } else {
      market.traderClose(masterAccountId, position.id);
    }
  } catch {
    // A rejected demo trade is simply not made.
  }
};
