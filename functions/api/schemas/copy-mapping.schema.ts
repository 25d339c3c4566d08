import { z } from 'zod';
import { copyActions } from '../../../shared/domain/copy-record';
import { idParam, listQuery, queryInstant } from './common.schema';

const multiplier = z.number().finite().positive().max(100);
/** Lots on MetaTrader, units on OANDA (a million units is ten lots of FX). */
const volume = z.number().finite().positive().max(100_000_000);
const symbolName = z.string().trim().min(1).max(32);

export const sizingSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('multiplier'), multiplier }).strict(),
  z.object({ mode: z.literal('fixedVolume'), volume }).strict(),
  z.object({ mode: z.literal('balanceRatio'), multiplier: multiplier.optional() }).strict(),
  z.object({ mode: z.literal('equityRatio'), multiplier: multiplier.optional() }).strict(),
  z.object({ mode: z.literal('riskPercent'), percent: z.number().finite().positive().max(100) }).strict(),
  z
    .object({ mode: z.literal('notional'), multiplier: multiplier.optional() })
    .strict()
    .describe("The master's volume x its symbol's contract size x multiplier, in the slave's own volume (lots to OANDA units)"),
]);

export const symbolRulesSchema = z
  .object({
    include: z.array(symbolName).max(500).optional(),
    exclude: z.array(symbolName).max(500).optional(),
    map: z.record(symbolName, symbolName).optional(),
  })
  .strict();

const pips = z.number().finite().positive().max(100_000);

export const symbolOverrideSchema = z
  .object({
    multiplier: multiplier.optional().describe("Multiplies the volume the mapping's sizing gives, for this symbol"),
    maxVolume: volume.optional().describe("Caps this symbol's copies (with the mapping's maxVolume, the lower wins)"),
    reverse: z.boolean().optional().describe("Reverses this symbol's copies, or not, whatever the mapping says"),
  })
  .strict();

/** A magic number, or an inclusive range of them `"from-to"`. */
const magicRule = z.union([
  z
    .number()
    .int()
    .min(0)
    .max(2 ** 53 - 1),
  z
    .string()
    .regex(/^\d{1,15}-\d{1,15}$/, 'must be a number or a range "from-to"')
    .refine((range) => {
      const [from, to] = range.split('-').map(Number);
      return from !== undefined && to !== undefined && from <= to;
    }, 'the range must not end before it starts'),
]);

export const magicRulesSchema = z
  .object({
    include: z.array(magicRule).max(100).optional().describe('Only trades with these magic numbers (0: by hand) are copied'),
    exclude: z.array(magicRule).max(100).optional().describe('Trades with these magic numbers are not copied'),
  })
  .strict();

const mappingFields = {
  enabled: z.boolean(),
  sizing: sizingSchema,
  symbols: symbolRulesSchema,
  reverse: z.boolean(),
  copyStopLoss: z.boolean(),
  copyTakeProfit: z.boolean(),
  copyPendingOrders: z.boolean(),
  minVolume: volume,
  maxVolume: volume,
  maxDelaySeconds: z.number().int().min(1).max(86_400),
  magic: magicRulesSchema.describe("The master's MetaTrader magic numbers copied; the others are skipped MAGIC_FILTERED"),
  allowedSides: z.enum(['both', 'buy', 'sell']).describe("Which of the master's sides are copied; the others are skipped SIDE_FILTERED"),
  symbolOverrides: z
    .record(symbolName, symbolOverrideSchema)
    .refine((overrides) => Object.keys(overrides).length <= 500, 'at most 500 symbols')
    .describe('Per master symbol: a volume multiplier, a volume cap, reverse'),
  maxPriceDeviationPips: pips.describe("A market open whose slave price is further than this from the master's fill is skipped PRICE_DEVIATION"),
  maxStopLossPips: pips.describe('An open whose stop loss is further than this from its entry, or that has none, is skipped STOP_LOSS_TOO_WIDE'),
  maxTradeRiskPercent: z
    .number()
    .finite()
    .positive()
    .max(100)
    .describe("An open that would lose more than this share of the slave's equity at its stop loss, or that has none, is skipped TRADE_RISK_TOO_HIGH"),
  mode: z.enum(['copy', 'closeOnly']).describe('closeOnly: nothing new opens (CLOSE_ONLY); closes and changes of what is open still follow'),
};

const volumeBounds = (value: { minVolume?: number; maxVolume?: number }) =>
  value.minVolume === undefined || value.maxVolume === undefined || value.minVolume <= value.maxVolume;
const boundsProblem = { message: 'must not be above maxVolume', path: ['minVolume'] };

/** Every setting of a mapping is optional in a change; a new mapping needs its accounts and sizing. */
const mappingSettings = z.object(mappingFields).partial();

/** A proposed mapping's settings, as a replay takes them: a mapping's body without its accounts. */
export const proposedMappingBody = mappingSettings.extend({ sizing: mappingFields.sizing }).strict().refine(volumeBounds, boundsProblem);

export const createMappingBody = mappingSettings
  .extend({
    masterAccountId: z.string().min(1).max(64),
    slaveAccountId: z.string().min(1).max(64),
    sizing: mappingFields.sizing,
  })
  .strict()
  .refine(volumeBounds, boundsProblem);

export const updateMappingBody = mappingSettings.strict().refine(volumeBounds, boundsProblem);

export const mappingSchema = z
  .object({
    id: z.string(),
    masterAccountId: z.string(),
    slaveAccountId: z.string(),
    enabled: z.boolean(),
    sizing: sizingSchema,
    symbols: symbolRulesSchema.optional(),
    reverse: z.boolean(),
    copyStopLoss: z.boolean(),
    copyTakeProfit: z.boolean(),
    copyPendingOrders: z.boolean(),
    minVolume: z.number().optional(),
    maxVolume: z.number().optional(),
    maxDelaySeconds: z.number(),
    allowedSides: mappingFields.allowedSides.optional(),
    magic: magicRulesSchema.optional(),
    symbolOverrides: mappingFields.symbolOverrides.optional(),
    maxPriceDeviationPips: z.number().optional(),
    maxStopLossPips: z.number().optional(),
    maxTradeRiskPercent: z.number().optional(),
    mode: mappingFields.mode.optional(),
    activeSince: z
      .string()
      .optional()
      .describe(
        'Since when the mapping copies new master trades: its creation or its last re-enabling. Trades open before it are recorded as OPENED_BEFORE_MAPPING.',
      ),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'CopyMapping' });

export const copyRecordSchema = z
  .object({
    id: z.string(),
    mappingId: z.string(),
    masterAccountId: z.string(),
    slaveAccountId: z.string(),
    action: z.enum(copyActions),
    status: z.enum(['pending', 'placed', 'skipped', 'failed']),
    reason: z.string().optional(),
    reasonDetail: z.string().optional(),
    symbol: z.string(),
    slaveSymbol: z.string().optional(),
    side: z.enum(['buy', 'sell']).optional(),
    masterPositionId: z.string().optional(),
    masterOrderId: z.string().optional(),
    slavePositionId: z.string().optional(),
    slaveOrderId: z.string().optional(),
    masterVolume: z.number().optional(),
    slaveVolume: z.number().optional(),
    masterPrice: z.number().optional().describe("The master's price: its fill of an open, the price of a pending order"),
    slavePrice: z
      .number()
      .optional()
      .describe("The slave's fill price (an open or close at market, where the broker reports it), or its pending order's price"),
    slippagePips: z.number().optional().describe("How much worse than the master's price the slave's open filled, in pips (negative: better)"),
    stopLoss: z.number().optional().describe("The slave's stop loss the copy set (an open, a modify)"),
    takeProfit: z.number().optional().describe("The slave's take profit the copy set (an open, a modify)"),
    detectedAt: z.string(),
    enqueuedAt: z.string().optional(),
    startedAt: z.string().optional(),
    sentAt: z.string().optional(),
    completedAt: z.string().optional(),
    latencyMs: z.number().optional(),
  })
  .meta({ id: 'CopyRecord' });

/** `GET /v1/copies`: every filter optional; `from <= detectedAt < to`. */
export const copiesQuery = listQuery.extend({
  status: z.enum(['pending', 'placed', 'skipped', 'failed']).optional().describe('Only copies in this status'),
  accountId: idParam.optional().describe('Only copies from or to this account (as master or as slave)'),
  mappingId: idParam.optional().describe('Only copies of this mapping'),
  from: queryInstant().optional().describe('Detected at or after this instant (ISO-8601 date-time, or a date: that day from 00:00 UTC)'),
  to: queryInstant().optional().describe('Detected before this instant (ISO-8601 date-time, or a date: that day from 00:00 UTC)'),
});
