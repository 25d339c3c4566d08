import { expect } from 'vitest';
import { CtraderGateway, type CtraderTokens } from '../../shared/adapters/ctrader/ctrader-gateway';
import { FakeCtrader } from '../support/fake-ctrader/fake-ctrader';
import { describeBrokerPortContract } from './broker-port.contract';

describeBrokerPortContract(
  'cTrader Open API (the adapter against the fake cTrader server)',
  async () => {
    const fake = await FakeCtrader.start();
    // Hedged: the contract holds buys and sells of one symbol at once.
    const account = fake.addAccount({ hedging: true, balance: 10_000, currency: 'USD' });
    let tokens: CtraderTokens = fake.issueTokens([account.ctidTraderAccountId]);
    const gateway = new CtraderGateway({
      hosts: { live: fake.wsUrl, demo: fake.wsUrl },
      app: async () => ({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
      tokens: {
        read: async () => tokens,
        write: async (_ref, next) => {
          tokens = next;
        },
      },
      timeoutMs: 3_000,
    });
    const ref = { tenantId: 'tenant-contract', accountId: 'acc-contract', platform: 'ctrader', login: String(account.ctidTraderAccountId), server: 'demo' };
    const provisioned = await gateway.provision(ref, JSON.stringify(tokens));
    expect(provisioned).toEqual({ status: 'connected', brokerAccountId: String(account.ctidTraderAccountId) });
    const port = await gateway.connect({ ...ref, brokerAccountId: provisioned.brokerAccountId });
    return {
      port,
      market: fake.market,
      marketAccountId: account.marketAccountId,
      loseNextTradeAnswer: () => fake.setFaults({ dropNextTradeAnswer: 1 }),
      close: async () => {
        gateway.close();
        await fake.stop();
      },
    };
  },
  {
    eurUsdSpec: { symbol: 'EURUSD', digits: 5, contractSize: 100_000, volumeMin: 0.01, volumeStep: 0.01, tickSize: 0.00001, profitCurrency: 'USD' },
    capabilities: { hedging: true, netting: false, fifo: false, units: 'lots', closeClientId: false },
    // cTrader never requotes: a price that moved or is missing is NO_QUOTES (OFF_QUOTES).
    refusals: ['OFF_QUOTES', 'MARKET_CLOSED', 'NO_MONEY', 'TRADING_DISABLED', 'REJECTED', 'INVALID_VOLUME', 'TIMEOUT'],
  },
);
