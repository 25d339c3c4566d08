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

const onBreach = z.enum(['stopCopying', 'closeOnly', 'closeAll']);

const lossLimit = z
  .object({
    period: z.enum(['day', 'week', 'month', 'total']),
    basis: z
      .enum(['balance', 'equity', 'higher'])
      .describe("The period's reference, taken at its first mark: the balance, the equity, or the higher of the two"),
    percent: percent.optional().describe('The loss allowed, in percent of the reference (or of the initial capital with percentOf: initial)'),
    amount: z.number().finite().positive().max(1e12).optional().describe("The loss allowed, in the account's currency"),
    dayStartsAt: hhmm.optional().describe('When a day (and a week, a month) starts in timeZone; default 00:00'),
    timeZone: timeZone.optional().describe('IANA time zone of dayStartsAt; default UTC'),
    percentOf: z.enum(['start', 'initial']).optional().describe("What percent is of: the period's reference (default) or the initial capital"),
    trailing: z.boolean().optional().describe("total only: the reference trails the best balance at a day's start"),
  })
  .strict()
  .refine((limit) => (limit.percent === undefined) !== (limit.amount === undefined), { message: 'takes percent or amount, one of them', path: ['percent'] });

const preset = z.enum(['ftmo-2step', 'ftmo-1step', 'the5ers']);

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
    lossLimits: z.array(lossLimit).max(10).optional().describe('Loss limits by period; the equity may not reach reference - allowed'),
    preset: preset.optional().describe("A prop firm's published rules, filled into lossLimits (not both)"),
    initialCapital: z.number().finite().positive().max(1e12).optional().describe('What percentOf: initial is of; default the balance at the first mark'),
    onBreach: onBreach.default('stopCopying'),
  })
  .strict()
  .refine((body) => !(body.preset && body.lossLimits), { message: 'a preset fills lossLimits: give one of them', path: ['preset'] });

export const protectionSchema = z
  .object({
    maxDailyLossPercent: z.number().optional(),
    maxDrawdownPercent: z.number().optional(),
    maxOpenPositions: z.number().int().optional(),
    maxVolumePerTrade: z.number().optional(),
    maxTotalVolume: z.number().optional(),
    allowedSymbols: z.array(z.string()).optional(),
    tradingHours: z.object({ from: z.string(), to: z.string(), timeZone: z.string() }).optional(),
    lossLimits: z.array(lossLimit).optional(),
    preset: preset.optional(),
    initialCapital: z.number().optional(),
    onBreach,
    state: z.enum(['ok', 'breached']),
    breachedAt: z.string().optional(),
    reason: z.string().optional(),
    updatedAt: z.string().optional().describe('When the rules were last set; absent while none are'),
  })
  .meta({ id: 'Protection' });
