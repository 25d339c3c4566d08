import { z } from 'zod';
import type { CopySignal } from '../ports/stores';

const side = z.enum(['buy', 'sell']);
const trackedPosition = z.object({
  id: z.string(),
  symbol: z.string(),
  side,
  volume: z.number().positive(),
  openPrice: z.number(),
  stopLoss: z.number().optional(),
  takeProfit: z.number().optional(),
  profit: z.number().optional(),
  openedAt: z.string(),
  comment: z.string().optional(),
  clientId: z.string().optional(),
  magic: z.number().int().min(0).optional(),
  rev: z.number().int().min(0),
  detectedAt: z.string(),
  baseline: z.boolean().optional(),
});
const trackedOrder = z.object({
  id: z.string(),
  symbol: z.string(),
  side,
  type: z.enum(['limit', 'stop']),
  volume: z.number().positive(),
  price: z.number(),
  stopLoss: z.number().optional(),
  takeProfit: z.number().optional(),
  createdAt: z.string(),
  comment: z.string().optional(),
  clientId: z.string().optional(),
  magic: z.number().int().min(0).optional(),
  rev: z.number().int().min(0),
  detectedAt: z.string(),
  baseline: z.boolean().optional(),
});

const eventBase = {
  id: z.string().min(1),
  tenantId: z.string(),
  masterAccountId: z.string(),
  detectedAt: z.string(),
  masterBalance: z.number().optional(),
  masterEquity: z.number().optional(),
};
const positionEvent = <K extends string>(kind: K) => z.object({ ...eventBase, kind: z.literal(kind), position: trackedPosition });
const orderEvent = <K extends string>(kind: K) => z.object({ ...eventBase, kind: z.literal(kind), order: trackedOrder });

/**
 * A master event, checked by its kind: each kind must carry what the worker reads for it (a
 * partial close its previous volume, a fill both the order and the position it became).
 */
const masterEvent = z.discriminatedUnion('kind', [
  positionEvent('positionOpened'),
  positionEvent('positionModified'),
  positionEvent('positionClosed'),
  positionEvent('positionPartiallyClosed').extend({ previousVolume: z.number().positive() }),
  positionEvent('positionIncreased').extend({ previousVolume: z.number().positive() }),
  orderEvent('orderPlaced'),
  orderEvent('orderModified'),
  orderEvent('orderCancelled'),
  orderEvent('orderFilled').extend({ position: trackedPosition }),
]);

/** The body of a copy-signal message; a body that does not parse is poison and fails alone. */
export const copySignalSchema: z.ZodType<CopySignal> = z.object({
  tenantId: z.string().min(1),
  mappingId: z.string().min(1),
  masterAccountId: z.string().min(1),
  slaveAccountId: z.string().min(1),
  enqueuedAt: z.string(),
  event: masterEvent,
});
