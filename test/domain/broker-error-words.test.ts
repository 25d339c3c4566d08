import { describe, expect, it } from 'vitest';
import { BrokerError, describeBrokerError, withoutInternals } from '../../shared/domain/broker-errors';

describe("a broker failure in the user's words", () => {
  it('says an unreachable or slow broker in words, with its code, and nothing of the address it failed on', () => {
    expect(describeBrokerError(new BrokerError('CONNECTION', 'connect ECONNREFUSED mt-client-api-v1.new-york.agiliumtrade.ai:443'))).toBe(
      'The broker cannot be reached right now (CONNECTION: connect ECONNREFUSED (address withheld))',
    );
    expect(describeBrokerError(new BrokerError('TIMEOUT', 'timed out after 4000 ms at https://mt-client-api-v1.london.agiliumtrade.ai/users/current'))).toBe(
      'The broker did not answer in time (TIMEOUT: timed out after 4000 ms at (address withheld))',
    );
  });

  it('keeps the message of a refusal, with URLs, hosts and IP addresses taken out, and symbol names left alone', () => {
    expect(describeBrokerError(new BrokerError('UNKNOWN_SYMBOL', 'EURUSD.pro is not offered'))).toBe('UNKNOWN_SYMBOL: EURUSD.pro is not offered');
    expect(withoutInternals('failed at https://mt-provisioning-api-v1.agiliumtrade.agiliumtrade.ai/x?y=1 from 10.0.3.17:8443 via a.b.example.com')).toBe(
      'failed at (address withheld) from (address withheld) via (address withheld)',
    );
  });
});
