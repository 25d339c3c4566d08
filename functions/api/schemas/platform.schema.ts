import { z } from 'zod';
import { platforms } from '../../../shared/domain/account';

export const platformSchema = z
  .object({
    id: z.enum(platforms),
    name: z.string(),
    capabilities: z.object({
      pendingOrders: z.boolean(),
      partialClose: z.boolean(),
      clientId: z.boolean(),
      hedging: z.boolean(),
      netting: z.boolean(),
      units: z.enum(['lots', 'units']),
    }),
  })
  .meta({ id: 'Platform' });
