import { z } from 'zod';
import { platforms } from '../../../shared/domain/account';
import { idParam, queryInstant } from './common.schema';
import { proposedMappingBody } from './copy-mapping.schema';
import { protectionBody } from './protection.schema';

/** A date-time (with `Z` or an offset), or a date: that day from 00:00 UTC (as in queries). */
const instant = queryInstant();

const slaveSymbolSpec = z
  .object({
    digits: z.number().int().min(0).max(10),
    contractSize: z.number().finite().positive(),
    volumeMin: z.number().finite().positive(),
    volumeStep: z.number().finite().positive(),
    volumeMax: z.number().finite().positive(),
    tickSize: z.number().finite().positive(),
    tickValue: z.number().finite().positive().optional(),
  })
  .strict();

export const replayBody = z
  .object({
    masterAccountId: idParam,
    from: instant.describe('Closed trades from this instant (inclusive)'),
    to: instant.describe('to this one (exclusive); at most 366 days after from'),
    mapping: proposedMappingBody.describe("The proposed mapping's settings (a mapping's body without its accounts)"),
    protection: protectionBody.optional().describe("The slave's proposed protection"),
    slaveStartingBalance: z.number().finite().positive().max(1e12),
    slavePlatform: z
      .enum(platforms)
      .optional()
      .describe("The slave's platform: symbols are named as it names them (`EUR_USD` on OANDA) unless the mapping renames them"),
    slaveSymbols: z
      .record(z.string().trim().min(1).max(32), slaveSymbolSpec)
      .optional()
      .describe("The slave's own specs of its symbols (after renaming); the master broker's are read for the others"),
  })
  .strict();

export const replayTradeSchema = z.object({
  masterTradeId: z.string(),
  masterPositionId: z.string().describe('The master position the trade closed (all or part of)'),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  masterVolume: z.number(),
  slaveVolume: z.number().optional(),
  openedAt: z.string(),
  closedAt: z.string(),
  profit: z.number().optional(),
  skipped: z.string().optional().describe('Why the copy would not have been made (a reason code)'),
});

export const replaySchema = z
  .object({
    id: z.string(),
    trades: z.array(replayTradeSchema),
    summary: z.object({
      copied: z.number().int(),
      skipped: z.record(z.string(), z.number().int()),
      profit: z.number(),
      maxDrawdownPercent: z.number(),
      endingBalance: z.number(),
    }),
  })
  .meta({ id: 'Replay' });
