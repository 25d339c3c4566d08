import { z } from 'zod';

/**
 * Query strings are not strict, unlike bodies: a parameter the route does not know (a cache
 * buster, a tracking tag) is ignored, not refused.
 */
export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(2048).optional(),
});

/**
 * An instant given in a query: a full ISO-8601 date-time (`Z` or an offset), or a date
 * `YYYY-MM-DD`, which is the start of that day in UTC.
 */
export const queryInstant = () => z.union([z.iso.datetime({ offset: true }), z.iso.date().transform((day) => `${day}T00:00:00.000Z`)]);

export const idParam = z.string().min(1).max(64);

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().optional() });

export const problemSchema = z
  .object({
    type: z.string().describe('`urn:mt-copier:problem:<code>`'),
    title: z.string(),
    status: z.number().int(),
    code: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .describe('Stable, machine-readable (UPPER_SNAKE): `INVALID_REQUEST`, `NOT_FOUND`, `MAPPING_CYCLE`, `BROKER_NO_MONEY`...'),
    detail: z.string().describe('What went wrong, in words for a person'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('One entry per bad field (400) or per field a rule is about (422)'),
  })
  .meta({ id: 'Problem' });

/** A price or volume: finite and positive. */
export const positive = () => z.number().finite().positive();
export const isoTimestamp = () => z.string().datetime();
