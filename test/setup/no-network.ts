import net from 'node:net';

/**
 * Fails any test that opens a TCP connection to anything but this machine: the suite must
 * never reach MetaApi, AWS or anything else on the internet.
 */
const isLoopback = (host: string | undefined): boolean =>
  host === undefined || host === 'localhost' || host.endsWith('.localhost') || host.startsWith('127.') || host === '::1' || host === '[::1]';

const original = net.Socket.prototype.connect;
net.Socket.prototype.connect = function patchedConnect(this: net.Socket, ...args: unknown[]) {
  // net.connect() hands the socket its arguments already normalized into an array.
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  let host: string | undefined;
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    if (options.path) return original.apply(this, args as never);
    host = options.host;
  } else if (typeof first === 'number' || typeof first === 'string') {
    host = typeof args[1] === 'string' ? (args[1] as string) : undefined;
  }
  if (!isLoopback(host)) {
    throw new Error(`Test tried to open a network connection to ${host}: only loopback is allowed`);
  }
  return original.apply(this, args as never);
} as typeof net.Socket.prototype.connect;
