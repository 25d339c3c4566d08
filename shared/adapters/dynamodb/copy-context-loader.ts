import { BatchGetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { CopyContext, CopyContextLoader, CopyContextRequest } from '../../ports/stores';
import { accountKey } from './account-store';
import { copyRecordKey, linkKey } from './copy-store';
import { mappingKey } from './mapping-store';
import { protectionKey } from './protection-store';
import { fromItem, toItem, type TableRef } from './table';

/**
 * The copy worker's reads in one BatchGetItem (strongly consistent): the hot path pays one
 * DynamoDB round trip for mapping, slave account, protection and link together.
 */
export class DynamoCopyContextLoader implements CopyContextLoader {
  constructor(private readonly table: TableRef) {}

  async load(tenantId: string, request: CopyContextRequest): Promise<CopyContext> {
    let keys: Record<string, AttributeValue>[] = [mappingKey(tenantId, request.mappingId), accountKey(tenantId, request.slaveAccountId)];
    if (request.protection) keys.push(toItem(protectionKey(tenantId, request.slaveAccountId)));
    if (request.linkTicket !== undefined) keys.push(toItem(linkKey(tenantId, request.mappingId, request.linkTicket)));
    if (request.originClientId !== undefined) keys.push(toItem(copyRecordKey(tenantId, request.originClientId)));
    const context: CopyContext = {};
    for (let attempt = 0; keys.length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 500)));
      const result = await this.table.client.send(new BatchGetItemCommand({ RequestItems: { [this.table.tableName]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of result.Responses?.[this.table.tableName] ?? []) {
        const sk = item.sk?.S ?? '';
        if (sk.startsWith('MAPPING#')) context.mapping = fromItem(item);
        else if (sk.startsWith('ACCOUNT#')) context.slave = fromItem(item);
        else if (sk.startsWith('PROTECTION#')) context.protection = fromItem(item);
        else if (sk.startsWith('LINK#')) context.link = fromItem(item);
        else if (sk.startsWith('COPY#')) {
          const {
            leaseUntil: _lease,
            workerEpoch: _epoch,
            ...origin
          } = fromItem<NonNullable<CopyContext['origin']> & { leaseUntil?: number; workerEpoch?: number }>(item);
          context.origin = origin;
        }
      }
      keys = result.UnprocessedKeys?.[this.table.tableName]?.Keys ?? [];
    }
    return context;
  }
}
