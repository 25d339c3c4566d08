import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The socket inodes a process holds (Linux /proc). */
const socketInodes = (pid: number): Set<string> => {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
};

const ipv4 = (hex: string) =>
  hex
    .match(/../g)!
    .reverse()
    .map((byte) => parseInt(byte, 16))
    .join('.');

/** /proc/net/tcp6 writes the address as four 32-bit words, each in the machine's (little-endian) byte order. */
const ipv6 = (hex: string): string => {
  const bytes = hex.match(/.{8}/g)!.flatMap((word) =>
    word
      .match(/../g)!
      .reverse()
      .map((byte) => parseInt(byte, 16)),
  );
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((byte) => byte === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  if (zeros(0, 15)) return bytes[15] === 1 ? '::1' : bytes[15] === 0 ? '::' : `::${bytes[15]}`;
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push(((bytes[index]! << 8) | bytes[index + 1]!).toString(16));
  return groups.join(':');
};

/**
 * The local addresses of the TCP sockets the processes listen on, as `ss -ltn` shows them
 * (`127.0.0.1:8000`, `[::ffff:127.0.0.1]:8000`, `0.0.0.0:8000`...).
 */
export const listeningAddresses = (pids: number[]): string[] => {
  const inodes = new Set(pids.flatMap((pid) => [...socketInodes(pid)]));
  const addresses: string[] = [];
  for (const [file, decode] of [
    ['/proc/net/tcp', ipv4],
    ['/proc/net/tcp6', ipv6],
  ] as const) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      const [host, port] = fields[1]!.split(':');
      const address = decode(host!);
      addresses.push(`${address.includes(':') ? `[${address}]` : address}:${parseInt(port!, 16)}`);
    }
  }
  return addresses;
};

/** Whether an address is on the loopback interface. */
export const isLoopback = (address: string): boolean => /^(127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:127\.\d+\.\d+\.\d+\]):\d+$/.test(address);
