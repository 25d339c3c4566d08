import { z } from 'zod';

export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    actor: z.string().describe('`user:<tenant>` for what a user did, `system:copier` for orders the copy engine placed'),
    action: z.string().describe('e.g. account.create, mapping.update, protection.put, trade.place, copy.open'),
    resourceType: z.string(),
    resourceId: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });
