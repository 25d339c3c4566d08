import { describe, expect, it } from 'vitest';
import { copySignalSchema } from '../../shared/schemas/copy-signal.schema';
import { anOrder, aPosition, T0 } from '../support/fixtures';

const position = { ...aPosition({ id: 'p-1' }), rev: 0, detectedAt: T0 };
const order = { ...anOrder({ id: 'o-1' }), rev: 0, detectedAt: T0 };
const signalOf = (event: Record<string, unknown>) => ({
  tenantId: 'tenant-a',
  mappingId: 'mapping-1',
  masterAccountId: 'master-1',
  slaveAccountId: 'slave-1',
  enqueuedAt: T0,
  event: { id: `${String(event.kind)}:x:0`, tenantId: 'tenant-a', masterAccountId: 'master-1', detectedAt: T0, ...event },
});
const issuesOf = (event: Record<string, unknown>) => {
  const parsed = copySignalSchema.safeParse(signalOf(event));
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.path.join('.'));
};

describe('copy signal schema', () => {
  it('accepts each kind with what the worker reads for it', () => {
    for (const event of [
      { kind: 'positionOpened', position },
      { kind: 'positionModified', position },
      { kind: 'positionClosed', position },
      { kind: 'positionPartiallyClosed', position, previousVolume: 0.2 },
      { kind: 'orderPlaced', order },
      { kind: 'orderModified', order },
      { kind: 'orderCancelled', order },
      { kind: 'orderFilled', order, position },
    ]) {
      expect(issuesOf(event), event.kind).toEqual([]);
    }
  });

  it('refuses a kind without what the worker reads for it, naming the field', () => {
    expect(issuesOf({ kind: 'orderFilled', order })).toEqual(['event.position']);
    expect(issuesOf({ kind: 'positionPartiallyClosed', position })).toEqual(['event.previousVolume']);
    expect(issuesOf({ kind: 'positionOpened', order })).toEqual(['event.position']);
    expect(issuesOf({ kind: 'orderPlaced', position })).toEqual(['event.order']);
    expect(issuesOf({ kind: 'positionTeleported', position })).toEqual(['event.kind']);
  });

  it('refuses a partial close without a positive volume before it', () => {
    expect(issuesOf({ kind: 'positionPartiallyClosed', position, previousVolume: 0 })).toEqual(['event.previousVolume']);
  });

  it('keeps an old fill message that still carries filledPositionId (dropped, not refused)', () => {
    const parsed = copySignalSchema.parse(signalOf({ kind: 'orderFilled', order, position, filledPositionId: 'p-1' }));
    expect(parsed.event).not.toHaveProperty('filledPositionId');
    expect(parsed.event).toMatchObject({ kind: 'orderFilled', position: { id: 'p-1' } });
  });
});
