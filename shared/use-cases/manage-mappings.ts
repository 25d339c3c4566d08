import {
  mappingDefaults,
  toPublicMapping,
  wouldCloseCycle,
  type CopyMapping,
  type PublicCopyMapping,
  type Sizing,
  type SymbolRules,
} from '../domain/copy-mapping';
import {
  ConcurrentUpdateError,
  ConflictError,
  NotFoundError,
  QuotaExceededError,
  RuleViolationError,
  ValidationError,
  type TenantQuotas,
} from '../domain/errors';
import type { AccountStore, AuditLog, CopyFilter, CopyStore, MappingStore, Page, PageRequest, SignalQueue } from '../ports/stores';
import { closeSignalsFor } from './protect-slave';
import { toPublicCopyRecord, type PublicCopyRecord } from '../domain/copy-record';
import { newId } from './manage-accounts';
import { platformCatalog } from '../domain/platform-catalog';

export interface MappingDependencies {
  accounts: AccountStore;
  mappings: MappingStore;
  copies: CopyStore;
  audit: AuditLog;
  now: () => Date;
  /** Limits per tenant; none without. */
  quotas?: TenantQuotas;
}

export interface NewMapping {
  masterAccountId: string;
  slaveAccountId: string;
  enabled?: boolean;
  sizing: Sizing;
  symbols?: SymbolRules;
  reverse?: boolean;
  copyStopLoss?: boolean;
  copyTakeProfit?: boolean;
  copyPendingOrders?: boolean;
  minVolume?: number;
  maxVolume?: number;
  maxDelaySeconds?: number;
}

/** How often a creation is checked again after the tenant's graph moved under it. */
const GRAPH_ATTEMPTS = 8;

/**
 * Creates master -> slave. Both accounts must be the tenant's own (another tenant's id is
 * simply not found); a mapping onto itself or one closing a cycle is refused (422), and so
 * is a second mapping of the same pair (409). The checks and the write are one step: the
 * write is conditional on the version of the graph the checks read, so of two racing
 * requests (A->B and B->A) one lands and the other is checked again and refused.
 */
/** Sizings that scale the master's volume as a number: lots times a factor are not units. */
const scalesVolume: readonly Sizing['mode'][] = ['multiplier', 'balanceRatio', 'equityRatio'];

/**
 * Between platforms that count volume differently (MetaTrader lots, OANDA units), a sizing
 * that scales the master's number would trade 0.1 units for 0.1 lots: refused (422), naming
 * notional sizing, which converts through the contract sizes. Fixed volumes are the slave's
 * own, and risk sizing works from the slave's stop and tick value: both stay allowed.
 */
const requireSizingAcrossUnits = (sizing: Sizing, masterPlatform: string, slavePlatform: string): void => {
  const unitsOf = (platform: string) => platformCatalog.find((candidate) => candidate.id === platform)?.capabilities.units ?? 'lots';
  if (unitsOf(masterPlatform) === unitsOf(slavePlatform) || !scalesVolume.includes(sizing.mode)) return;
  throw new RuleViolationError(
    `A ${masterPlatform} master counts volume in ${unitsOf(masterPlatform)} and a ${slavePlatform} slave in ${unitsOf(slavePlatform)}: use notional sizing`,
    [{ path: 'sizing.mode', message: `must be notional, fixedVolume or riskPercent between ${unitsOf(masterPlatform)} and ${unitsOf(slavePlatform)}` }],
    'SIZING_ACROSS_UNITS',
  );
};

export const createMapping = async (deps: MappingDependencies, tenantId: string, input: NewMapping): Promise<PublicCopyMapping> => {
  if (input.masterAccountId === input.slaveAccountId) {
    throw new RuleViolationError(
      'A mapping cannot copy an account to itself',
      [{ path: 'slaveAccountId', message: 'must differ from masterAccountId' }],
      'SELF_MAPPING',
    );
  }
  const id = newId('map');
  for (let attempt = 1; ; attempt += 1) {
    const graph = await deps.mappings.graph(tenantId);
    const [master, slave] = await Promise.all([deps.accounts.get(tenantId, input.masterAccountId), deps.accounts.get(tenantId, input.slaveAccountId)]);
    if (!master) throw new NotFoundError('master account');
    if (!slave) throw new NotFoundError('slave account');
    requireSizingAcrossUnits(input.sizing, master.platform, slave.platform);
    const twin = graph.mappings.find((m) => m.masterAccountId === input.masterAccountId && m.slaveAccountId === input.slaveAccountId);
    if (twin) throw new ConflictError(`Mapping ${twin.id} already copies this master to this slave; change that one instead`, 'MAPPING_EXISTS');
    // Counted on the graph the create is conditional on: two creates at once cannot both take the last place.
    const { quotas } = deps;
    if (quotas && graph.mappings.length >= quotas.mappings) throw new QuotaExceededError('MAX_MAPPINGS_PER_TENANT', quotas.mappings, 'copy mappings');
    if (quotas && graph.mappings.filter((m) => m.masterAccountId === input.masterAccountId).length >= quotas.slavesPerMaster) {
      throw new QuotaExceededError('MAX_SLAVES_PER_MASTER', quotas.slavesPerMaster, 'slaves copying one master');
    }
    if (wouldCloseCycle(graph.mappings, input.masterAccountId, input.slaveAccountId)) {
      throw new RuleViolationError(
        'This mapping would close a cycle: trades would be copied back to where they came from',
        [{ path: 'slaveAccountId', message: 'already copies, directly or through other mappings, to masterAccountId' }],
        'MAPPING_CYCLE',
      );
    }
    const now = deps.now().toISOString();
    const mapping: CopyMapping = { ...mappingDefaults, ...input, id, tenantId, activeSince: now, createdAt: now, updatedAt: now };
    try {
      await deps.mappings.create(mapping, { graphVersion: graph.version });
    } catch (error) {
      if (!(error instanceof ConcurrentUpdateError)) throw error;
      if (attempt >= GRAPH_ATTEMPTS) throw new ConflictError('The mappings changed while this one was checked; try again', 'CONCURRENT_CHANGE');
      continue;
    }
    await deps.audit.append({
      tenantId,
      at: now,
      actor: `user:${tenantId}`,
      action: 'mapping.create',
      resourceType: 'copyMapping',
      resourceId: mapping.id,
      details: { after: toPublicMapping(mapping) },
    });
    return toPublicMapping(mapping);
  }
};

export const getMapping = async (deps: Pick<MappingDependencies, 'mappings'>, tenantId: string, mappingId: string): Promise<CopyMapping> => {
  const mapping = await deps.mappings.get(tenantId, mappingId);
  if (!mapping) throw new NotFoundError('copy mapping');
  return mapping;
};

export const listMappings = async (deps: Pick<MappingDependencies, 'mappings'>, tenantId: string, page: PageRequest): Promise<Page<PublicCopyMapping>> => {
  const result = await deps.mappings.list(tenantId, page);
  return { ...result, items: result.items.map(toPublicMapping) };
};

export const updateMapping = async (
  deps: MappingDependencies,
  tenantId: string,
  mappingId: string,
  change: Omit<Partial<NewMapping>, 'masterAccountId' | 'slaveAccountId'>,
): Promise<PublicCopyMapping> => {
  const before = await getMapping(deps, tenantId, mappingId);
  if (change.sizing) {
    const [master, slave] = await Promise.all([deps.accounts.get(tenantId, before.masterAccountId), deps.accounts.get(tenantId, before.slaveAccountId)]);
    if (master && slave) requireSizingAcrossUnits(change.sizing, master.platform, slave.platform);
  }
  const now = deps.now().toISOString();
  // Enabled again: it copies what opens from now on; what opened while it was off is recorded as such.
  const after = await deps.mappings.update(tenantId, mappingId, { ...change, updatedAt: now }, { enabledAt: now });
  await deps.audit.append({
    tenantId,
    at: after.updatedAt,
    actor: `user:${tenantId}`,
    action: 'mapping.update',
    resourceType: 'copyMapping',
    resourceId: mappingId,
    details: { before: toPublicMapping(before), after: toPublicMapping(after) },
  });
  return toPublicMapping(after);
};

/**
 * Deletes a mapping once nothing it copied is still open on the slave. While copies are open
 * the answer is 409: a deleted mapping could no longer close them when the master does, which
 * would leave the slave holding risk nobody manages. Disabling keeps closing them.
 */
export const deleteMapping = async (deps: MappingDependencies, tenantId: string, mappingId: string): Promise<void> => {
  const before = await getMapping(deps, tenantId, mappingId);
  const open = await deps.copies.listOpenLinks(tenantId, mappingId);
  if (open.length > 0) {
    throw new ConflictError(
      `The mapping still has ${open.length} open cop${open.length === 1 ? 'y' : 'ies'} on the slave; disable it (it keeps closing what it opened) and delete it once they are closed`,
      'MAPPING_HAS_OPEN_COPIES',
    );
  }
  await deps.mappings.delete(tenantId, mappingId);
  await deps.audit.append({
    tenantId,
    at: deps.now().toISOString(),
    actor: `user:${tenantId}`,
    action: 'mapping.delete',
    resourceType: 'copyMapping',
    resourceId: mappingId,
    details: { before: toPublicMapping(before) },
  });
};

export const listCopies = async (deps: MappingDependencies, tenantId: string, mappingId: string, page: PageRequest): Promise<Page<PublicCopyRecord>> => {
  await getMapping(deps, tenantId, mappingId);
  const result = await deps.copies.listByMapping(tenantId, mappingId, page);
  return { ...result, items: result.items.map(toPublicCopyRecord) };
};

/**
 * Every copy of the tenant, newest first, narrowed by status, account (as master or slave),
 * mapping and detection time `[from, to)`. A filter naming an id the tenant does not have
 * finds nothing; it reveals nothing either.
 */
export const listTenantCopies = async (
  deps: Pick<MappingDependencies, 'copies'>,
  tenantId: string,
  filter: CopyFilter,
  page: PageRequest,
): Promise<Page<PublicCopyRecord>> => {
  if (filter.from !== undefined && filter.to !== undefined && Date.parse(filter.from) >= Date.parse(filter.to)) {
    throw new ValidationError('Invalid query: from', [{ path: 'from', message: 'must be before to' }]);
  }
  // The sort key holds UTC instants with milliseconds: bounds are compared in that form.
  const utc = (instant: string | undefined) => (instant === undefined ? undefined : new Date(instant).toISOString());
  const result = await deps.copies.list(tenantId, { ...filter, from: utc(filter.from), to: utc(filter.to) }, page);
  return { ...result, items: result.items.map(toPublicCopyRecord) };
};

/**
 * Closes every position and cancels every pending order this mapping opened on the slave:
 * one signal per open copy, through the copy queue in the slave's FIFO group, so each is
 * recorded as a copy (`close`, `cancelOrder`) and placed exactly once. The mapping itself is
 * left as it is: switch it to `closeOnly` or disable it so that nothing new opens.
 */
export const closeAllOfMapping = async (
  deps: Pick<MappingDependencies, 'mappings' | 'copies' | 'audit' | 'now'> & { queue: SignalQueue },
  tenantId: string,
  mappingId: string,
): Promise<{ closing: number }> => {
  const mapping = await getMapping(deps, tenantId, mappingId);
  const links = await deps.copies.listOpenLinks(tenantId, mappingId);
  const now = deps.now().toISOString();
  const signals = closeSignalsFor(mapping, links, { cause: 'mapping', at: now, enqueuedAt: now });
  if (signals.length > 0) await deps.queue.send(signals);
  await deps.audit.append({
    tenantId,
    at: now,
    actor: `user:${tenantId}`,
    action: 'mapping.closeAll',
    resourceType: 'mapping',
    resourceId: mappingId,
    details: { closing: signals.length, slaveAccountId: mapping.slaveAccountId },
  });
  return { closing: signals.length };
};
