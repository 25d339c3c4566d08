import { z } from 'zod';
import { accountStatuses, platforms, serverProblem } from '../../../shared/domain/account';

export const createAccountBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    platform: z.enum(platforms),
    login: z.string().trim().min(1).max(64).describe('The trading login; for `oanda`, the v20 account id'),
    password: z.string().min(1).max(256).describe('The trading password; for `oanda`, the API token'),
    server: z.string().trim().min(1).max(128).describe('The broker server; for `oanda`, `practice` or `live`'),
  })
  .strict()
  .superRefine((body, context) => {
    const problem = serverProblem(body.platform, body.server);
    if (problem) context.addIssue({ code: 'custom', path: ['server'], message: problem });
  });

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
