import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { fixedWindow } from '../../domain/rate-limit';
import type { RateDecision, RateLimiter } from '../../ports/rate-limiter';
import { isConditionFailure, toItem, type TableRef } from './table';

/** Counter items outlive their window by this much before TTL may remove them. */
const TTL_GRACE_SECONDS = 60;

/**
 * Fixed-window counters in the Main table: one item per (tenant, bucket, window),
 * `RATE#<tenant>` / `<bucket>#<windowStart>`. One conditional `ADD` per request counts it
 * only while the window is under its limit, so every Lambda instance shares one count and a
 * refused request costs one write and changes nothing. TTL (`expiresAt`) removes old windows.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(private readonly table: TableRef) {}

  async hit(request: { tenantId: string; bucket: string; limit: number; windowMs: number; now: Date }): Promise<RateDecision> {
    const window = fixedWindow(request.now, request.windowMs);
    try {
      await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: toItem({ pk: `RATE#${request.tenantId}`, sk: `${request.bucket}#${window.start}` }),
          UpdateExpression: 'SET #expiresAt = if_not_exists(#expiresAt, :expiresAt) ADD #count :one',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'requests', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: toItem({
            ':one': 1,
            ':limit': request.limit,
            ':expiresAt': Math.ceil(window.end / 1000) + TTL_GRACE_SECONDS,
          }),
        }),
      );
      return { allowed: true };
    } catch (error) {
      if (isConditionFailure(error)) return { allowed: false, retryAfterSeconds: window.retryAfterSeconds };
      throw error;
    }
  }
}
