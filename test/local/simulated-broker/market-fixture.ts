import { BrokerError, type BrokerErrorCode } from '../../../shared/domain/broker-errors';
import { SimulatedMarket, type SimulatedMarketOptions } from '../../../local/simulated-broker/simulated-market';

/** A market on a clock the test moves, with one 10,000 USD account at 1:100. */
export const marketWithAccount = (
  options: SimulatedMarketOptions = {},
): { market: SimulatedMarket; accountId: string; clock: { now: Date; advance(ms: number): void } } => {
  const clock = {
    now: new Date('2024-05-01T10:00:00.000Z'),
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const market = new SimulatedMarket({ now: () => clock.now, ...options });
  const accountId = 'acc-1';
  market.openAccount(accountId);
  return { market, accountId, clock };
};

/** The broker error code a call throws, or undefined when it does not throw one. */
export const brokerErrorCodeOf = (call: () => unknown): BrokerErrorCode | undefined => {
  try {
    call();
  } catch (error) {
    if (error instanceof BrokerError) return error.code;
    throw error;
  }
  return undefined;
};
