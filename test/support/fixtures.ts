import type { Account } from '../../shared/domain/account';
import type { CopyMapping } from '../../shared/domain/copy-mapping';
import { mappingDefaults } from '../../shared/domain/copy-mapping';
import { copyClientId, copyRecordId, type PendingCopyRecord } from '../../shared/domain/copy-record';
import type { PositionLink } from '../../shared/domain/position-link';
import type { PendingOrder, Position, SymbolSpec } from '../../shared/domain/trading';

export const T0 = '2024-03-04T10:00:00.000Z';

/** EURUSD as most FX brokers specify it: 0.01 lot steps, 5 digits, 1 USD per tick per lot. */
export const eurusdSpec = (overrides: Partial<SymbolSpec> = {}): SymbolSpec => ({
  symbol: 'EURUSD',
  digits: 5,
  contractSize: 100_000,
  volumeMin: 0.01,
  volumeStep: 0.01,
  volumeMax: 100,
  tickSize: 0.00001,
  tickValue: 1,
  profitCurrency: 'USD',
  ...overrides,
});

export const aMapping = (overrides: Partial<CopyMapping> = {}): CopyMapping => ({
  id: 'mapping-1',
  tenantId: 'tenant-a',
  masterAccountId: 'master-1',
  slaveAccountId: 'slave-1',
  ...mappingDefaults,
  sizing: { mode: 'multiplier', multiplier: 1 },
  createdAt: T0,
  updatedAt: T0,
  ...overrides,
});

/** An account; each id is its own broker login unless the test says otherwise (a tenant holds a login once). */
export const anAccount = (overrides: Partial<Account> = {}): Account => ({
  id: 'account-1',
  tenantId: 'tenant-a',
  name: 'Main account',
  platform: 'mt5',
  login: `5001234-${overrides.id ?? 'account-1'}`,
  server: 'Broker-Demo',
  status: 'connected',
  createdAt: T0,
  updatedAt: T0,
  encryptedPassword: 'ciphertext-not-a-password',
  ...overrides,
});

export const aPosition = (overrides: Partial<Position> = {}): Position => ({
  id: 'p-1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  openPrice: 1.1,
  openedAt: T0,
  ...overrides,
});

export const anOrder = (overrides: Partial<PendingOrder> = {}): PendingOrder => ({
  id: 'o-1',
  symbol: 'EURUSD',
  side: 'buy',
  type: 'limit',
  volume: 0.1,
  price: 1.09,
  createdAt: T0,
  ...overrides,
});

export const aCopyRecord = (overrides: Partial<PendingCopyRecord> = {}): PendingCopyRecord => {
  const mappingId = overrides.mappingId ?? 'mapping-1';
  const eventId = overrides.eventId ?? 'positionOpened:p-1:0';
  return {
    id: copyRecordId(mappingId, eventId),
    tenantId: 'tenant-a',
    mappingId,
    eventId,
    masterAccountId: 'master-1',
    slaveAccountId: 'slave-1',
    action: 'open',
    status: 'pending',
    symbol: 'EURUSD',
    masterPositionId: 'p-1',
    masterVolume: 0.1,
    clientId: copyClientId(mappingId, eventId),
    attempts: 0,
    detectedAt: T0,
    ...overrides,
  };
};

export const aLink = (overrides: Partial<PositionLink> = {}): PositionLink => ({
  tenantId: 'tenant-a',
  mappingId: 'mapping-1',
  masterAccountId: 'master-1',
  slaveAccountId: 'slave-1',
  masterTicket: 'p-1',
  kind: 'position',
  slaveTicket: 's-1',
  slaveSymbol: 'EURUSD',
  side: 'buy',
  masterVolume: 0.1,
  slaveVolume: 0.1,
  openedAt: T0,
  appliedRev: 0,
  ...overrides,
});
