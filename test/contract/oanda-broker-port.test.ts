import { expect } from 'vitest';
import { OandaGateway } from '../../shared/adapters/oanda/oanda-gateway';
import { FakeOanda } from '../support/fake-oanda/fake-oanda';
import { describeBrokerPortContract } from './broker-port.contract';

/** The contract's MetaTrader symbols under OANDA's instrument names. */
const instruments: Record<string, string> = { EURUSD: 'EUR_USD', GBPUSD: 'GBP_USD', USDJPY: 'USD_JPY', XAUUSD: 'XAU_USD' };

/** Units in a lot: 100,000 of a currency pair's base, 100 troy ounces of gold. */
const unitsPerLot = (mtSymbol: string): number => (mtSymbol.startsWith('XAU') ? 100 : 100_000);

const TOKEN = 'contract-token-0123456789abcdef0123456789abcdef-fedcba9876543210fedcba9876543210';

describeBrokerPortContract(
  'OANDA v20 (the adapter against the fake OANDA server)',
  async () => {
    const fake = await FakeOanda.start();
    // Hedging: the contract holds buys and sells of one instrument at once.
    const v20AccountId = fake.addAccount({ token: TOKEN, hedging: true, balance: 10_000, currency: 'USD', leverage: 100 });
    const hosts = { rest: fake.url, stream: fake.url };
    const gateway = new OandaGateway({ hosts: { practice: hosts, live: hosts }, tokenFor: async () => TOKEN, timeoutMs: 3_000 });
    const ref = { tenantId: 'tenant-contract', accountId: 'acc-contract', platform: 'oanda', login: v20AccountId, server: 'practice' };
    const provisioned = await gateway.provision(ref, TOKEN);
    expect(provisioned).toEqual({ status: 'connected', brokerAccountId: v20AccountId });
    const port = await gateway.connect({ ...ref, brokerAccountId: provisioned.brokerAccountId });
    return {
      port,
      market: fake.market,
      marketAccountId: fake.marketAccountId(v20AccountId),
      loseNextTradeAnswer: () => fake.setFaults({ dropNextTradeAnswer: 1 }),
      close: () => fake.stop(),
    };
  },
  {
    symbol: (mtSymbol) => instruments[mtSymbol] ?? mtSymbol,
    volume: (lots, mtSymbol) => Math.round(lots * unitsPerLot(mtSymbol)),
    eurUsdSpec: {
      symbol: 'EUR_USD',
      digits: 5,
      contractSize: 1,
      volumeMin: 1,
      volumeStep: 1,
      volumeMax: 100_000_000,
      tickSize: 0.00001,
      profitCurrency: 'USD',
    },
    capabilities: { hedging: true, netting: false, fifo: false, units: 'units', closeClientId: false },
    // OANDA never requotes; a refusal it has no words for (REJECTED) the fake says as INTERNAL_SERVER_ERROR, a busy server.
    refusals: ['PRICE_CHANGED', 'OFF_QUOTES', 'MARKET_CLOSED', 'NO_MONEY', 'TRADING_DISABLED', 'INVALID_VOLUME', 'TIMEOUT'],
    replacesOrders: true,
  },
);
