export type Sizing =
  | { mode: 'multiplier'; multiplier: number }
  | { mode: 'fixedVolume'; volume: number }
  | { mode: 'balanceRatio'; multiplier?: number }
  | { mode: 'equityRatio'; multiplier?: number }
  | { mode: 'riskPercent'; percent: number }
  /**
   * The master's notional (volume x the master symbol's contract size) times the multiplier,
   * in the slave's own volume: across platforms (lots to OANDA units) this is the one that is right.
   */
  | { mode: 'notional'; multiplier?: number };

export interface SymbolRules {
  include?: string[];
  exclude?: string[];
  /** Master symbol -> slave symbol (e.g. EURUSD -> EURUSD.m). */
  map?: Record<string, string>;
}

/** Magic numbers a mapping copies: each entry a number or an inclusive range `"from-to"`. */
export interface MagicRules {
  include?: (number | string)[];
  exclude?: (number | string)[];
}

const inRule = (magic: number, rule: number | string): boolean => {
  if (typeof rule === 'number') return magic === rule;
  const [from, to] = rule.split('-').map(Number);
  return from !== undefined && to !== undefined && magic >= from && magic <= to;
};

/**
 * Whether a master trade's magic number passes the mapping's rules: in `include` (when it
 * has entries) and not in `exclude`. A trade with no magic number is a trade made by hand,
 * magic 0, as MetaTrader counts it.
 */
export const magicAllowed = (magic: number | undefined, rules: MagicRules | undefined): boolean => {
  const value = magic ?? 0;
  if (rules?.include && rules.include.length > 0 && !rules.include.some((rule) => inRule(value, rule))) return false;
  return !rules?.exclude?.some((rule) => inRule(value, rule));
};

/** What one master symbol is copied with instead of the mapping's own settings. */
export interface SymbolOverride {
  /** Multiplies the volume the sizing gives, for this symbol. */
  multiplier?: number;
  /** Caps this symbol's copies (with the mapping's `maxVolume`, the lower wins). */
  maxVolume?: number;
  /** Reverses this symbol's copies, or not, whatever the mapping says. */
  reverse?: boolean;
}

/** How one master account's trades are copied to one slave account. */
export interface CopyMapping {
  id: string;
  tenantId: string;
  masterAccountId: string;
  slaveAccountId: string;
  enabled: boolean;
  sizing: Sizing;
  symbols?: SymbolRules;
  reverse: boolean;
  copyStopLoss: boolean;
  copyTakeProfit: boolean;
  copyPendingOrders: boolean;
  minVolume?: number;
  maxVolume?: number;
  maxDelaySeconds: number;
  /** Which of the master's sides are copied (`SIDE_FILTERED` otherwise). @default both */
  allowedSides?: 'both' | 'buy' | 'sell';
  /** The master's magic numbers copied (`MAGIC_FILTERED` otherwise). */
  magic?: MagicRules;
  /** Per master symbol: multiplier, volume cap, reverse. */
  symbolOverrides?: Record<string, SymbolOverride>;
  /** A market open whose slave price is further than this from the master's fill is skipped (`PRICE_DEVIATION`). */
  maxPriceDeviationPips?: number;
  /** An open whose stop loss is further than this from its entry, or has none, is skipped (`STOP_LOSS_TOO_WIDE`). */
  maxStopLossPips?: number;
  /** An open that would lose more than this share of the slave's equity at its stop loss, or has none, is skipped (`TRADE_RISK_TOO_HIGH`). */
  maxTradeRiskPercent?: number;
  /** `closeOnly`: nothing new opens (`CLOSE_ONLY`); closes and changes of what is open follow. @default copy */
  mode?: 'copy' | 'closeOnly';
  /**
   * Since when the mapping copies new trades: its creation, or the last time it was enabled
   * again. A master position or order opened before this is not copied; it is recorded once
   * as skipped `OPENED_BEFORE_MAPPING`. Absent on mappings stored before it existed
   * (`createdAt` stands in).
   */
  activeSince?: string;
  /**
   * The `activeSince` whose start the sync has announced to the mapping (every position and
   * order the master held then, sent once). Internal: set by the sync only.
   */
  announcedSince?: string;
  createdAt: string;
  updatedAt: string;
}

/** Whether the sync still has to announce the master's book to this mapping. */
export const needsAnnouncement = (mapping: Pick<CopyMapping, 'enabled' | 'activeSince' | 'announcedSince' | 'createdAt'>): boolean =>
  mapping.enabled && mapping.announcedSince !== activeSinceOf(mapping);

/** The moment from which a mapping copies new master positions and orders. */
export const activeSinceOf = (mapping: Pick<CopyMapping, 'activeSince' | 'createdAt'>): string => mapping.activeSince ?? mapping.createdAt;

/** Whether a master trade opened at `openedAt` (broker time) is new to the mapping, not one it found. */
export const openedWhileActive = (mapping: Pick<CopyMapping, 'activeSince' | 'createdAt'>, openedAt: string): boolean =>
  Date.parse(openedAt) >= Date.parse(activeSinceOf(mapping));

export type PublicCopyMapping = Omit<CopyMapping, 'tenantId' | 'announcedSince'>;

export const toPublicMapping = ({ tenantId: _t, announcedSince: _a, ...visible }: CopyMapping): PublicCopyMapping => visible;

export const mappingDefaults = {
  enabled: true,
  reverse: false,
  copyStopLoss: true,
  copyTakeProfit: true,
  copyPendingOrders: true,
  maxDelaySeconds: 60,
  allowedSides: 'both',
  mode: 'copy',
} as const;

/**
 * Whether adding master -> slave to the existing edges closes a cycle (A->B, B->A, or
 * longer). A cycle would copy a trade back to where it came from, forever.
 */
export const wouldCloseCycle = (
  edges: ReadonlyArray<Pick<CopyMapping, 'masterAccountId' | 'slaveAccountId'>>,
  masterAccountId: string,
  slaveAccountId: string,
): boolean => {
  if (masterAccountId === slaveAccountId) return true;
  // A cycle appears when the new master is reachable from the new slave.
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.masterAccountId, [...(next.get(edge.masterAccountId) ?? []), edge.slaveAccountId]);
  const seen = new Set<string>();
  const stack = [slaveAccountId];
  for (let account = stack.pop(); account !== undefined; account = stack.pop()) {
    if (account === masterAccountId) return true;
    if (seen.has(account)) continue;
    seen.add(account);
    stack.push(...(next.get(account) ?? []));
  }
  return false;
};
