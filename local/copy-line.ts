import type { FinalCopyRecord } from '../shared/domain/copy-record';

const pad = (text: string, width: number) => text.padEnd(width);

/** One readable line per finished copy: time, action, symbol, side, volumes, master -> slave, status, latency. */
export const formatCopyLine = (record: FinalCopyRecord, names: { master: string; slave: string }): string => {
  const time = record.completedAt.slice(11, 19);
  const volumes = `${record.masterVolume ?? '-'} -> ${(record.status === 'placed' ? record.slaveVolume : undefined) ?? '-'}`;
  const status = record.status === 'placed' ? record.status : `${record.status} ${record.reason}`;
  const symbol = record.slaveSymbol && record.slaveSymbol !== record.symbol ? `${record.symbol}->${record.slaveSymbol}` : record.symbol;
  return [
    time,
    pad(record.action, 12),
    pad(symbol, 8),
    pad(record.side ?? '', 4),
    pad(volumes, 14),
    pad(`${names.master} -> ${names.slave}`, 30),
    pad(status, 24),
    `${record.latencyMs} ms`,
  ].join('  ');
};
