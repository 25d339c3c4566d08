import { z } from 'zod';

/** Settings of the local runtime (`npm start`), from the environment, checked at start. */
const settingsSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  DATA_DIR: z.string().min(1).default('.data'),
  DEMO: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  MASTER_POLL_INTERVAL_MS: z.coerce.number().int().min(100).default(1000),
  SLAVE_SYNC_INTERVAL_MS: z.coerce.number().int().min(500).default(5000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('warn'),
  /** MetaApi API token: mt4/mt5 accounts then trade through the real MetaApi. Never printed. */
  METAAPI_TOKEN: z.string().min(1).optional(),
  /** Browser origins allowed to call the API: `*`, one origin or a comma-separated list. */
  CORS_ORIGIN: z.string().min(1).default('*'),
  /** Per-tenant requests per minute (all routes but trading ones; trading ones). */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  TRADE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60),
});

export type LocalSettings = z.infer<typeof settingsSchema>;

export const readLocalSettings = (env: Record<string, string | undefined>): LocalSettings => {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid settings: ${fields}`);
  }
  return parsed.data;
};
