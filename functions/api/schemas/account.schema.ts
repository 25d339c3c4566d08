import { z } from 'zod';
import { accountStatuses, platforms } from '../../../shared/domain/account';

export const createAccountBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    platform: z.enum(platforms),
    login: z.string().trim().min(1).max(64),
    password: z.string().min(1).max(256),
    server: z.string().trim().min(1).max(128),
  })
  .strict();

export const updateAccountBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    password: z.string().min(1).max(256).optional(),
    server: z.string().trim().min(1).max(128).optional(),
  })
  .strict();

export const accountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    platform: z.enum(platforms),
    login: z.string(),
    server: z.string(),
    status: z.enum(accountStatuses),
    statusDetail: z.string().optional(),
    balance: z.number().optional(),
    equity: z.number().optional(),
    currency: z.string().optional(),
    lastSyncAt: z.string().optional(),
    roles: z
      .array(z.enum(['master', 'slave']))
      .describe("What the account is in the tenant's copy mappings: `master` copies out, `slave` copies in; empty when in none"),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Account' });
