import MetaApi, {
  HistoryStorage,
  SynchronizationListener,
  type MetatraderAccount,
  type RpcMetaApiConnectionInstance,
  type StreamingMetaApiConnectionInstance,
} from 'metaapi.cloud-sdk/esm-node';

// The only module that imports the SDK. Always its `esm-node` build: the bare import resolves
// to the browser build, which fails in Node ESM, vitest and esbuild bundles.

export type RpcConnection = RpcMetaApiConnectionInstance;
export type MetaApiAccount = MetatraderAccount;
export type MetaApiSdk = MetaApi;
export type StreamingConnection = StreamingMetaApiConnectionInstance;

/**
 * A history storage that keeps nothing. The SDK's default ("memory") storage writes files
 * under `./.metaapi`, which fails on Lambda's read-only file system; the copier reads deals
 * over RPC when it needs them, so a stream needs no history at all.
 */
export class NothingKeptHistoryStorage extends HistoryStorage {
  override async clear(): Promise<void> {}
  override async lastHistoryOrderTime(): Promise<Date> {
    return new Date(0);
  }
  override async lastDealTime(): Promise<Date> {
    return new Date(0);
  }
  override async onHistoryOrderAdded(): Promise<void> {}
  override async onDealAdded(): Promise<void> {}
  override get deals(): never[] {
    return [];
  }
  override get historyOrders(): never[] {
    return [];
  }
  override getDealsByTicket(): never[] {
    return [];
  }
  override getDealsByPosition(): never[] {
    return [];
  }
  override getDealsByTimeRange(): never[] {
    return [];
  }
  override getHistoryOrdersByTicket(): never[] {
    return [];
  }
  override getHistoryOrdersByPosition(): never[] {
    return [];
  }
  override getHistoryOrdersByTimeRange(): never[] {
    return [];
  }
}

/** The SDK's listener base class: a stream's callbacks override what they need. */
export const StreamListenerBase = SynchronizationListener;

export interface MetaApiSdkOptions {
  token: string;
  /** MetaApi's domain; the default is the SDK's (agiliumtrade.agiliumtrade.ai). */
  domain?: string;
  /** Pins the SDK to one MetaApi region; accounts elsewhere cannot be connected. */
  region?: string;
  /**
   * Test only: the websocket server the SDK talks to instead of the one it discovers, a plain
   * socket.io server (the SDK's own integration tests do the same).
   */
  websocketUrl?: string;
  /** Timeout of one websocket request and of opening a socket, in seconds. */
  requestTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  /**
   * The SDK's own retries. Kept short: throttling the SDK would wait out by itself comes
   * back as TOO_MANY_REQUESTS with the recommended time, for the caller to decide.
   */
  retryOpts: { retries: number; minDelayInSeconds: number; maxDelayInSeconds: number };
  /**
   * How long a stream waits for a packet missing from its sequence before it subscribes and
   * synchronizes again (the SDK's default is 60 s: a minute in which no trade is seen).
   */
  packetOrderingTimeoutSeconds: number;
  /** Silences the SDK's console logging (tests). It is process-wide and cannot be undone. */
  quietLogs?: boolean;
}

/**
 * A new SDK instance. It starts timers: whoever creates one must `close()` it. Its server
 * discovery retries forever when MetaApi is unreachable, so every call through it needs a
 * deadline of its own.
 */
export const createMetaApiSdk = (options: MetaApiSdkOptions): MetaApiSdk => {
  if (options.quietLogs) MetaApi.enableLog4jsLogging();
  const api = new MetaApi(options.token, {
    ...(options.domain ? { domain: options.domain } : {}),
    ...(options.region ? { region: options.region } : {}),
    requestTimeout: options.requestTimeoutSeconds,
    connectTimeout: options.connectTimeoutSeconds,
    retryOpts: options.retryOpts,
    packetOrderingTimeout: options.packetOrderingTimeoutSeconds,
    ...(options.websocketUrl ? { useNativeSocketIoServer: true } : {}),
  });
  if (options.websocketUrl) {
    // The SDK's documented test hook ("patch server URL for use in unit tests").
    (api as unknown as { _metaApiWebsocketClient: { url: string } })._metaApiWebsocketClient.url = options.websocketUrl;
  }
  return api;
};
