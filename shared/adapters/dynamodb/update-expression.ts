import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { toItem } from './table';

/**
 * SET for defined fields and REMOVE for fields explicitly set to undefined, with
 * placeholder names for every attribute (no reserved-word surprises).
 */
export const updateExpression = (
  changes: Record<string, unknown>,
): { UpdateExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue> } => {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  Object.entries(changes).forEach(([field, value], index) => {
    names[`#f${index}`] = field;
    if (value === undefined) removes.push(`#f${index}`);
    else {
      values[`:v${index}`] = value;
      sets.push(`#f${index} = :v${index}`);
    }
  });
  const clauses = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : ''].filter(Boolean);
  return {
    UpdateExpression: clauses.join(' '),
    ExpressionAttributeNames: names,
    ...(sets.length ? { ExpressionAttributeValues: toItem(values) } : {}),
  };
};
