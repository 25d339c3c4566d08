import type { Platform } from './account';

/** What a trading platform lets the system do; a frontend hides what a platform lacks. */
export interface PlatformCapabilities {
  /** Limit and stop orders can be placed, listed and cancelled. */
  pendingOrders: boolean;
  /** A position can be closed in part. */
  partialClose: boolean;
  /** Orders carry a client id, so an order whose outcome is unknown can be found again. */
  clientId: boolean;
  /** Several positions of one symbol, also of opposite sides, can be open at once. */
  hedging: boolean;
}

export interface PlatformDescription {
  id: Platform;
  name: string;
  capabilities: PlatformCapabilities;
}

/**
 * Every platform an account can be connected on. MT5 accounts may be netting or hedging at
 * the broker; the platform supports hedging, so it is listed as such.
 */
export const platformCatalog: readonly PlatformDescription[] = [
  { id: 'mt4', name: 'MetaTrader 4', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true } },
  { id: 'mt5', name: 'MetaTrader 5', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true } },
  { id: 'simulated', name: 'Simulated broker', capabilities: { pendingOrders: true, partialClose: true, clientId: true, hedging: true } },
];
