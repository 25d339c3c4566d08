import type { AuditEntry, AuditLog, Page, PageRequest } from '../ports/stores';

export type PublicAuditEntry = Omit<AuditEntry, 'tenantId'> & { id: string };

/** The tenant's own audit entries, newest first. */
export const listAuditLog = async (deps: { audit: AuditLog }, tenantId: string, page: PageRequest): Promise<Page<PublicAuditEntry>> => {
  const result = await deps.audit.list(tenantId, page);
  return { ...result, items: result.items.map(({ tenantId: _t, ...entry }) => entry) };
};
