import type { RateBucket } from '../domain/rate-limit';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * Counts requests per (tenant, bucket) in fixed windows shared by every instance of the API.
 * A request over `limit` in its window is refused, and not counted.
 */
export interface RateLimiter {
  hit(request: { tenantId: string; bucket: RateBucket; limit: number; windowMs: number; now: Date }): Promise<RateDecision>;
}
