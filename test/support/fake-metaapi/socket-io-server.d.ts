// The part of the socket.io 2.x server (CommonJS, no typings of its own) the fake MetaApi uses.
declare module 'socket.io' {
  import type { Server as HttpServer } from 'node:http';

  namespace SocketIo {
    interface Socket {
      id: string;
      handshake: { query: Record<string, string | undefined> };
      on(event: string, listener: (data: any) => void): void;
      emit(event: string, ...args: unknown[]): boolean;
      disconnect(close?: boolean): void;
    }
    interface Server {
      on(event: 'connection' | 'connect', listener: (socket: Socket) => void): void;
      close(callback?: () => void): void;
    }
  }
  function SocketIo(server: HttpServer, options?: { path?: string; pingTimeout?: number; serveClient?: boolean }): SocketIo.Server;
  export = SocketIo;
}
