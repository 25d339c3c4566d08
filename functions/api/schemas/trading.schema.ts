import { z } from 'zod';
import { listQuery, positive, queryInstant } from './common.schema';

const side = z.enum(['buy', 'sell']);
const symbolName = z.string().trim().min(1).max(32);
/** Lots of one trade request. */
const tradeVolume = positive().max(1000);

export const positionSchema = z
  .object({
    id: z.string(),
    symbol: z.string(),
    side,
    volume: z.number(),
    openPrice: z.number(),
    stopLoss: z.number().optional(),
    takeProfit: z.number().optional(),
    profit: z.number().optional(),
    openedAt: z.string(),
    comment: z.string().optional(),
  })
  .meta({ id: 'Position' });

export const pendingOrderSchema = z
  .object({
    id: z.string(),
    symbol: z.string(),
    side,
    type: z.enum(['limit', 'stop']),
    volume: z.number(),
    price: z.number(),
    stopLoss: z.number().optional(),
    takeProfit: z.number().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'PendingOrder' });

export const closedTradeSchema = z
  .object({
    id: z.string(),
    positionId: z.string(),
    symbol: z.string(),
    side,
    volume: z.number(),
    openPrice: z.number(),
    closePrice: z.number(),
    profit: z.number(),
    commission: z.number().optional().describe("The close's commission and its share of the opening deals', account currency"),
    swap: z.number().optional(),
    mappingId: z.string().optional().describe('The copy mapping that opened it, for a copy'),
    openedAt: z.string(),
    closedAt: z.string(),
  })
  .meta({ id: 'ClosedTrade' });

const nullableNumber = () => z.number().nullable();

export const tradeStatsSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    trades: z.number().int(),
    wins: z.number().int(),
    losses: z.number().int(),
    winRate: nullableNumber().describe('wins / trades; null without trades'),
    profit: z.number().describe('Net of commission and swap'),
    grossProfit: z.number(),
    grossLoss: z.number().describe('Zero or negative'),
    profitFactor: nullableNumber().describe('grossProfit / -grossLoss; null when nothing was lost'),
    averageWin: nullableNumber(),
    averageLoss: nullableNumber(),
    maxDrawdownPercent: nullableNumber().describe('The deepest fall of equity below its running peak in the range; null without equity points'),
    bySymbol: z.array(z.object({ symbol: z.string(), trades: z.number().int(), profit: z.number() })),
  })
  .meta({ id: 'TradeStats' });

export const equityPointSchema = z.object({ at: z.string(), balance: z.number(), equity: z.number() }).meta({ id: 'EquityPoint' });

/** `from <= closedAt < to`; without them, the last 30 days; at most 366 days. */
export const tradesQuery = listQuery.extend({
  from: queryInstant()
    .optional()
    .describe('Start of the range (inclusive), ISO-8601 date-time, or a date (that day from 00:00 UTC); default: 30 days before `to`'),
  to: queryInstant().optional().describe('End of the range (exclusive), ISO-8601 date-time, or a date (that day from 00:00 UTC); default: now'),
});

export const statsQuery = z.object({
  from: queryInstant()
    .optional()
    .describe('Start of the range (inclusive), ISO-8601 date-time, or a date (that day from 00:00 UTC); default: 30 days before `to`'),
  to: queryInstant().optional().describe('End of the range (exclusive), ISO-8601 date-time, or a date (that day from 00:00 UTC); default: now'),
});

export const equityQuery = statsQuery.extend({
  interval: z.enum(['hour', 'day']).default('hour').describe('One point an hour or a day (the first of each); default: hour'),
});

export const placeOrderBody = z
  .object({
    symbol: symbolName,
    side,
    volume: tradeVolume,
    type: z.enum(['market', 'limit', 'stop']).optional().describe('Default: market'),
    price: positive().optional().describe('Trigger price of a limit or stop order; not for market orders'),
    stopLoss: positive().optional(),
    takeProfit: positive().optional(),
  })
  .strict()
  .superRefine((order, context) => {
    const pending = order.type === 'limit' || order.type === 'stop';
    if (pending && order.price === undefined) context.addIssue({ code: 'custom', path: ['price'], message: 'is required for limit and stop orders' });
    if (!pending && order.price !== undefined) context.addIssue({ code: 'custom', path: ['price'], message: 'is only for limit and stop orders' });
  });

export const placedTradeSchema = z
  .object({
    positionId: z.string().optional().describe('The position a market order opened'),
    orderId: z.string().optional().describe('The pending order a limit or stop order created'),
  })
  .meta({ id: 'PlacedTrade' });

/** A number sets a level, `null` removes it, a level left out stays as it is. */
export const modifyPositionBody = z
  .object({ stopLoss: positive().nullable().optional(), takeProfit: positive().nullable().optional() })
  .strict()
  .refine((stops) => stops.stopLoss !== undefined || stops.takeProfit !== undefined, { message: 'give stopLoss, takeProfit or both' })
  .meta({ minProperties: 1 });

export const closePositionBody = z.object({ volume: tradeVolume.optional().describe('Lots to close; the whole position when left out') }).strict();

export const closedPositionSchema = z
  .object({ positionId: z.string(), price: z.number().optional(), volume: z.number().optional() })
  .meta({ id: 'PositionClose' });
