import { z } from 'zod';

const percent = z.number().finite().gt(0).max(100);
const count = z.number().int().positive().max(100_000);
const lots = z.number().finite().positive().max(100_000);
const symbolName = z.string().trim().min(1).max(32);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM, from 00:00 to 23:59');

/** Whether the runtime knows an IANA time zone (the copy engine evaluates the rules with the same Intl). */
export const isTimeZone = (value: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
};

const timeZone = z.string().min(1).max(64).refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/London');

const tradingHours = z
  .object({
    from: hhmm.describe('Start, inclusive, in timeZone'),
    to: hhmm.describe('End, exclusive, in timeZone; a window with from after to spans midnight'),
    timeZone,
  })
  .strict();

const onBreach = z.enum(['stopCopying', 'closeAll']);

/** The rules of a slave account; PUT replaces them all (a rule left out is removed). */
export const protectionBody = z
  .object({
    maxDailyLossPercent: percent.optional(),
    maxDrawdownPercent: percent.optional(),
    maxOpenPositions: count.optional(),
    maxVolumePerTrade: lots.optional(),
    maxTotalVolume: lots.optional(),
    allowedSymbols: z.array(symbolName).max(500).optional(),
    tradingHours: tradingHours.optional(),
    onBreach: onBreach.default('stopCopying'),
  })
  .strict();

export const protectionSchema = z
  .object({
    maxDailyLossPercent: z.number().optional(),
    maxDrawdownPercent: z.number().optional(),
    maxOpenPositions: z.number().int().optional(),
    maxVolumePerTrade: z.number().optional(),
    maxTotalVolume: z.number().optional(),
    allowedSymbols: z.array(z.string()).optional(),
    tradingHours: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }).optional(),
    onBreach,
    state: z.enum(['ok', 'breached']),
    breachedAt: z.string().optional(),
    reason: z.string().optional(),
    updatedAt: z.string().optional().describe('When the rules were last set; absent while none are'),
  })
  .meta({ id: 'Protection' });
