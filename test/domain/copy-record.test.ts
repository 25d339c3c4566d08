import { describe, expect, it } from 'vitest';
import { copyClientId, copyRecordId, toPublicCopyRecord } from '../../shared/domain/copy-record';
import { aCopyRecord } from '../support/fixtures';

describe('copyClientId', () => {
  it('fits the 26 characters MetaApi allows for client id and comment together', () => {
    for (const [mappingId, eventId] of [
      ['m', 'e'],
      ['0b7e6f1e-4d1c-4a39-9a57-4f1f3d1bd7a1', 'positionPartiallyClosed:123456789012:42'],
      ['x'.repeat(500), 'y'.repeat(500)],
    ] as const) {
      expect(copyClientId(mappingId, eventId).length).toBeLessThanOrEqual(26);
    }
  });

  it('is a pure function of (mapping, event), the same in every release: orders in flight keep their ids across an upgrade', () => {
    // Golden values: a change here changes the client id of every copy a running system may still look up.
    expect(copyClientId('mapping-1', 'positionOpened:p-1:0')).toBe('mc9543e89affb610233eb6');
    expect(copyRecordId('mapping-1', 'positionOpened:p-1:0')).toBe('417340684e35676bfe491eed');
  });

  it('differs per mapping and per event', () => {
    const ids = new Set<string>();
    for (const mappingId of ['mapping-1', 'mapping-2', 'mapping-3'])
      for (const eventId of ['positionOpened:p-1:0', 'positionModified:p-1:1', 'positionOpened:p-2:0', 'positionClosed:p-1:1'])
        ids.add(copyClientId(mappingId, eventId));
    expect(ids.size).toBe(12);
  });

  it('does not collide when the boundary between mapping and event moves', () => {
    expect(copyClientId('ab', 'c')).not.toBe(copyClientId('a', 'bc'));
  });

  it('holds only characters brokers accept in a client id', () => {
    expect(copyClientId('mapping-1', 'positionOpened:p-1:0')).toMatch(/^[A-Za-z0-9]+$/);
  });
});

describe('copyRecordId', () => {
  it('is stable across redeliveries and distinct from the client id', () => {
    expect(copyRecordId('mapping-1', 'positionOpened:p-1:0')).toBe(copyRecordId('mapping-1', 'positionOpened:p-1:0'));
    expect(copyRecordId('mapping-1', 'positionOpened:p-1:0')).not.toBe(copyRecordId('mapping-2', 'positionOpened:p-1:0'));
    expect(copyRecordId('mapping-1', 'positionOpened:p-1:0')).not.toBe(copyClientId('mapping-1', 'positionOpened:p-1:0'));
  });
});

describe('toPublicCopyRecord', () => {
  it('hides the tenant, client id, attempts and event id', () => {
    const visible = toPublicCopyRecord(aCopyRecord({ attempts: 3 }));
    expect(visible).not.toHaveProperty('tenantId');
    expect(visible).not.toHaveProperty('clientId');
    expect(visible).not.toHaveProperty('attempts');
    expect(visible).not.toHaveProperty('eventId');
    expect(visible).toMatchObject({ mappingId: 'mapping-1', status: 'pending' });
  });
});
