import type { Platform } from './account';

/** What a trading platform lets the system do; a frontend hides what a platform lacks. */
export interface PlatformCapabilities {
  /** Limit and stop orders can be placed, listed and cancelled. */
  pendingOrders: boolean;
  /** A position can be closed in part. */
  partialClose: boolean;
  /** Orders carry a client id, so an order whose outcome is unknown can be found again. */
  clientId: boolean;
  /** Several positions of one symbol, also of opposite sides, can be open at once (on accounts that allow it). */
  hedging: boolean;
  /** Accounts that hold one position per symbol exist on the platform (MT5 netting, OANDA without hedging). */
  netting: boolean;
  /** What volumes count: lots (MetaTrader) or units of the base asset (OANDA). */
  units: 'lots' | 'units';
}

export interface PlatformDescription {
  id: Platform;
  name: string;
  capabilities: PlatformCapabilities;
}

/**
 * Every platform an account can be connected on. MT5 accounts may be netting or hedging at
 * the broker, OANDA accounts hedging or not (US accounts: FIFO, no hedging); what one account
 * allows is read from the broker when it is connected.
 */
export const platformCatalog: readonly PlatformDescription[] = [
  { id: 'mt4', name: 'MetaTrader 4', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true, netting: false, units: 'lots' } },
  { id: 'mt5', name: 'MetaTrader 5', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true, netting: true, units: 'lots' } },
  {
    id: 'simulated',
    name: 'Simulated broker',
    capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true, netting: false, units: 'lots' },
  },
  { id: 'oanda', name: 'OANDA (v20)', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true, netting: true, units: 'units' } },
  {
    id: 'ctrader',
    name: 'cTrader (Open API)',
    capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true, netting: true, units: 'lots' },
  },
];
