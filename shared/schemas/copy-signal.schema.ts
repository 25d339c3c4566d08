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
  rev: z.number().int().min(0),
  detectedAt: z.string(),
  baseline: z.boolean().optional(),
});

/** The body of a copy-signal message; a body that does not parse is poison and fails alone. */
export const copySignalSchema: z.ZodType<CopySignal> = z.object({
  tenantId: z.string().min(1),
  mappingId: z.string().min(1),
  masterAccountId: z.string().min(1),
  slaveAccountId: z.string().min(1),
  enqueuedAt: z.string(),
  event: z
    .object({
      id: z.string().min(1),
      kind: z.enum([
        'positionOpened',
        'positionModified',
        'positionPartiallyClosed',
        'positionClosed',
        'orderPlaced',
        'orderModified',
        'orderCancelled',
        'orderFilled',
      ]),
      tenantId: z.string(),
      masterAccountId: z.string(),
      detectedAt: z.string(),
      position: trackedPosition.optional(),
      previousVolume: z.number().optional(),
      order: trackedOrder.optional(),
      filledPositionId: z.string().optional(),
      masterBalance: z.number().optional(),
      masterEquity: z.number().optional(),
    })
    .refine((event) => (event.kind.startsWith('position') ? event.position !== undefined : event.order !== undefined), {
      message: 'event lacks the position or order it is about',
    }),
});
