import type { MetaApiCloudOptions, MetaApiTimeouts } from '../../../shared/adapters/metaapi/metaapi-cloud';
import type { FakeMetaApi } from './fake-metaapi';

/** Short budgets for tests: a slow or silent fake fails a call in about a second. */
export const testTimeouts: MetaApiTimeouts = {
  connectMs: 5_000,
  requestMs: 1_500,
  tradeMs: 1_500,
  provisionMs: 3_000,
  statePollMs: 20,
};

/** Options that point the real SDK at a fake MetaApi: its domain (intercepted) and its websocket. */
export const fakeCloudOptions = (fake: FakeMetaApi, timeouts: Partial<MetaApiTimeouts> = {}): MetaApiCloudOptions => ({
  token: fake.token,
  domain: fake.domain,
  websocketUrl: fake.websocketUrl,
  timeouts: { ...testTimeouts, ...timeouts },
  quietSdkLogs: true,
});
