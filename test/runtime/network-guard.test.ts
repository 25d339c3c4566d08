import net from 'node:net';
import { describe, expect, it } from 'vitest';

// `.invalid` never resolves (RFC 6761), so even a broken guard sends nothing anywhere.
const outside = 'mt-copier-guard.invalid';

describe('network guard', () => {
  it('refuses a socket to a host outside this machine before any packet leaves', () => {
    expect(() => net.connect({ host: outside, port: 443 })).toThrow(/only loopback/);
    expect(() => net.connect(443, outside)).toThrow(/only loopback/);
  });

  it('makes fetch to a host outside this machine fail with the guard as cause', async () => {
    const failure = await fetch(`http://${outside}/`).catch((error: unknown) => error);
    expect(String((failure as Error & { cause?: unknown }).cause)).toMatch(/only loopback/);
  });

  it('lets loopback connections through', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject));
    server.close();
  });
});
