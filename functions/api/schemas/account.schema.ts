import { z } from 'zod';
import { accountStatuses, type Platform, platforms, serverProblem } from '../../../shared/domain/account';

const newAccountFields = {
  name: z.string().trim().min(1).max(100),
  login: z.string().trim().min(1).max(64).describe('The trading login; for `oanda`, the v20 account id; for `ctrader`, the ctid trader account id'),
  server: z.string().trim().min(1).max(128).describe('The broker server; for `oanda`, `practice` or `live`; for `ctrader`, `live` or `demo`'),
};

/** A platform whose accounts open with a password (or, for `oanda`, an API token). */
const passwordPlatforms = platforms.filter((platform): platform is Exclude<Platform, 'ctrader'> => platform !== 'ctrader');

export const createAccountBody = z
  .discriminatedUnion('platform', [
    z
      .object({
        ...newAccountFields,
        platform: z.enum(passwordPlatforms),
        password: z.string().min(1).max(256).describe('The trading password; for `oanda`, the API token'),
      })
      .strict(),
    z
      .object({ ...newAccountFields, platform: z.literal('ctrader') })
      .strict()
      .describe('A cTrader account has no password: it is authorized through OAuth at the `authorizationUrl` the answer gives'),
  ])
  .superRefine((body, context) => {
    const problem = serverProblem(body.platform, body.server);
    if (problem) context.addIssue({ code: 'custom', path: ['server'], message: problem });
    if (body.platform === 'ctrader' && !/^\d{1,20}$/.test(body.login)) {
      context.addIssue({ code: 'custom', path: ['login'], message: 'must be the ctid trader account id (digits) for a cTrader account' });
    }
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
    authorizationUrl: z
      .string()
      .url()
      .optional()
      .describe('`ctrader` only, when the account is created: where the trader lets this application trade the account (good once, for an hour)'),
  })
  .meta({ id: 'Account' });
