import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedMarket } from '../../local/simulated-broker/simulated-market';
import { type BrokerError, brokerErrorCodes, type BrokerErrorCode } from '../../shared/domain/broker-errors';
import type { SymbolSpec } from '../../shared/domain/trading';
import { type AccountCapabilities, type BrokerPort, hedgingLots } from '../../shared/ports/broker';

/**
 * What every `BrokerPort` must do, whatever broker is behind it. A subject is one connected
 * account of 10,000 USD at 1:100 on a broker whose book is a `SimulatedMarket` (the
 * simulated broker itself, the fake MetaApi's broker, or the fake OANDA's): the market gives
 * the tests a way to inject the broker's refusals that is the same for every subject. Tests
 * share the account and tell their trades apart by client id, so the book is never assumed
 * empty. A broker that speaks of symbols and volumes otherwise than MetaTrader says how in
 * its `BrokerTraits`.
 */
export interface BrokerPortSubject {
  port: BrokerPort;
  market: SimulatedMarket;
  /** The account's id in the market. */
  marketAccountId: string;
  close(): Promise<void>;
  /**
   * Makes the broker execute the next trade request and lose its answer; the market's
   * `timeoutAfterExecuteNext` fault when not given.
   */
  loseNextTradeAnswer?(): void;
}

/**
 * What the contract's trades look like on a broker whose vocabulary is not MetaTrader's: the
 * contract is written in MetaTrader's (symbols `EURUSD`, `GBPUSD`, `XAUUSD`, volumes in lots);
 * a broker in units with its own symbol names (OANDA) says how they translate, and what of the
 * contract it cannot do. Every field left out is MetaTrader's behaviour.
 */
export interface BrokerTraits {
  /** The broker's name of a MetaTrader symbol (`EURUSD` -> `EUR_USD`); a name it does not know stays as it is. */
  symbol?: (mtSymbol: string) => string;
  /** `lots` of a MetaTrader symbol in the port's volume unit (OANDA: units, 100,000 a lot of EURUSD). */
  volume?: (lots: number, mtSymbol: string) => number;
  /** What `getSymbolSpec` gives for EURUSD (under the broker's name). */
  eurUsdSpec?: Partial<SymbolSpec>;
  /** The capabilities the account reports; `hedgingLots` when not given. */
  capabilities?: AccountCapabilities;
  /** The refusal codes the broker can give a market order (OANDA has no requote); the contract's whole list when not given. */
  refusals?: readonly BrokerErrorCode[];
  /** Modifying a pending order replaces it under a new id (OANDA), instead of keeping its id. */
  replacesOrders?: boolean;
}

/** MetaTrader's EURUSD as the simulated broker and the fake MetaApi broker define it. */
const lotsEurUsdSpec: Partial<SymbolSpec> = {
  symbol: 'EURUSD',
  digits: 5,
  contractSize: 100_000,
  volumeMin: 0.01,
  volumeStep: 0.01,
  volumeMax: 100,
  tickSize: 0.00001,
};

/** Every refusal of a market order the contract checks, on a broker that can give them all. */
const allRefusals: readonly BrokerErrorCode[] = [
  'REQUOTE',
  'PRICE_CHANGED',
  'OFF_QUOTES',
  'MARKET_CLOSED',
  'NO_MONEY',
  'TRADING_DISABLED',
  'REJECTED',
  'INVALID_VOLUME',
  'TIMEOUT',
];

const rejection = async (promise: Promise<unknown>): Promise<BrokerError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error && error.name === 'BrokerError') return error as BrokerError;
    throw error;
  }
  throw new Error('expected the call to fail with a BrokerError');
};

const hour = 3_600_000;

export const describeBrokerPortContract = (name: string, open: () => Promise<BrokerPortSubject>, traits: BrokerTraits = {}): void => {
  describe(`BrokerPort contract: ${name}`, () => {
    let subject: BrokerPortSubject;
    let port: BrokerPort;
    let sequence = 0;
    const capabilities = traits.capabilities ?? hedgingLots;
    /** The broker's name of a MetaTrader symbol. */
    const sym = (mtSymbol: string): string => traits.symbol?.(mtSymbol) ?? mtSymbol;
    /** `lots` of a MetaTrader symbol in the port's volume unit. */
    const vol = (lots: number, mtSymbol = 'EURUSD'): number => traits.volume?.(lots, mtSymbol) ?? lots;
    /** The out deals of a position from `from` on, oldest first: what its closes did, whatever client id they carried. */
    const closesOf = async (positionId: string | undefined, from: string) =>
      (await port.getDeals(from, new Date(Date.now() + 60_000).toISOString())).filter((deal) => deal.positionId === positionId && deal.entry === 'out');
    /** A client id of the length the engine uses (22 characters), unique in the run. */
    const clientId = () => `ct${Date.now().toString(36)}${String((sequence += 1)).padStart(4, '0')}`.padEnd(22, 'x').slice(0, 22);

    beforeAll(async () => {
      subject = await open();
      port = subject.port;
    });

    afterAll(async () => {
      await subject?.close();
    });

    it('reports what the account allows', async () => {
      expect(await port.getCapabilities()).toEqual(capabilities);
    });

    it("reports the account's funds", async () => {
      const funds = await port.getAccountInformation();
      expect(funds.currency).toBe('USD');
      expect(funds.leverage).toBe(100);
      expect(funds.balance).toBeGreaterThan(0);
      expect(funds.equity).toBeGreaterThan(0);
      expect(funds.freeMargin).toBeLessThanOrEqual(funds.equity);
      expect(funds.margin).toBeGreaterThanOrEqual(0);
    });

    it('places a market buy with a client id that findByClientId then finds, with its opening deal', async () => {
      const id = clientId();
      const result = await port.placeOrder({ clientId: id, symbol: sym('EURUSD'), side: 'buy', type: 'market', volume: vol(0.1) });
      expect(result.positionId).toBeDefined();
      const position = (await port.getPositions()).find((candidate) => candidate.id === result.positionId);
      expect(position).toMatchObject({ symbol: sym('EURUSD'), side: 'buy', volume: vol(0.1), clientId: id });
      expect(Date.parse(position!.openedAt)).toBeGreaterThan(Date.now() - hour);
      expect(position!.openedAt).toMatch(/Z$/);

      const found = await port.findByClientId(id);
      expect(found.positions.map((candidate) => candidate.id)).toEqual([result.positionId]);
      expect(found.orders).toEqual([]);
      expect(found.deals).toEqual([expect.objectContaining({ positionId: result.positionId, entry: 'in', side: 'buy', volume: vol(0.1), clientId: id })]);
    });

    it('places a market sell, and finds nothing for a client id never sent', async () => {
      const id = clientId();
      const result = await port.placeOrder({ clientId: id, symbol: sym('GBPUSD'), side: 'sell', type: 'market', volume: vol(0.05, 'GBPUSD') });
      const found = await port.findByClientId(id);
      expect(found.positions).toEqual([expect.objectContaining({ id: result.positionId, symbol: sym('GBPUSD'), side: 'sell', volume: vol(0.05, 'GBPUSD') })]);
      expect(await port.findByClientId(clientId())).toEqual({ positions: [], orders: [], deals: [] });
    });

    it('places a pending buy limit below the market, finds it by client id, and cancels it', async () => {
      const quote = (await port.getQuote(sym('EURUSD')))!;
      const price = Number((quote.ask - 0.01).toFixed(5));
      const id = clientId();
      const result = await port.placeOrder({
        clientId: id,
        symbol: sym('EURUSD'),
        side: 'buy',
        type: 'limit',
        volume: vol(0.2),
        price,
        takeProfit: Number((quote.ask + 0.01).toFixed(5)),
      });
      expect(result.orderId).toBeDefined();
      const order = (await port.getPendingOrders()).find((candidate) => candidate.id === result.orderId);
      expect(order).toMatchObject({ symbol: sym('EURUSD'), side: 'buy', type: 'limit', volume: vol(0.2), price, clientId: id });
      expect(order!.takeProfit).toBeCloseTo(quote.ask + 0.01, 5);
      expect((await port.findByClientId(id)).orders.map((candidate) => candidate.id)).toEqual([result.orderId]);

      const { orderId: movedId } = await port.modifyOrder(result.orderId!, { price: Number((price - 0.001).toFixed(5)) });
      const pending = await port.getPendingOrders();
      if (traits.replacesOrders) {
        expect(movedId).not.toBe(result.orderId);
        expect(pending.some((candidate) => candidate.id === result.orderId)).toBe(false);
      } else {
        expect(movedId).toBe(result.orderId);
      }
      const moved = pending.find((candidate) => candidate.id === movedId);
      expect(moved).toMatchObject({ symbol: sym('EURUSD'), side: 'buy', type: 'limit', volume: vol(0.2), clientId: id });
      expect(moved!.price).toBeCloseTo(price - 0.001, 5);
      expect(moved!.takeProfit).toBeCloseTo(quote.ask + 0.01, 5);
      expect((await port.findByClientId(id)).orders.map((candidate) => candidate.id)).toEqual([movedId]);

      await port.cancelOrder(movedId);
      expect((await port.getPendingOrders()).some((candidate) => candidate.id === movedId)).toBe(false);
      const again = await rejection(port.cancelOrder(movedId));
      expect(again).toMatchObject({ code: 'ORDER_NOT_FOUND', errorClass: 'terminal' });
    });

    it('sets stop levels: a number sets one, null removes it, undefined keeps it', async () => {
      const { positionId } = await port.placeOrder({ clientId: clientId(), symbol: sym('EURUSD'), side: 'buy', type: 'market', volume: vol(0.1) });
      const quote = (await port.getQuote(sym('EURUSD')))!;
      const stopLoss = Number((quote.bid - 0.005).toFixed(5));
      const takeProfit = Number((quote.ask + 0.005).toFixed(5));
      const positionNow = async () => (await port.getPositions()).find((candidate) => candidate.id === positionId)!;

      await port.modifyPosition(positionId!, { stopLoss, takeProfit });
      expect(await positionNow()).toMatchObject({ stopLoss, takeProfit });

      await port.modifyPosition(positionId!, { stopLoss: null });
      const withoutStop = await positionNow();
      expect(withoutStop.stopLoss).toBeUndefined();
      expect(withoutStop.takeProfit).toBe(takeProfit);

      const lower = Number((quote.bid - 0.008).toFixed(5));
      await port.modifyPosition(positionId!, { stopLoss: lower, takeProfit: undefined });
      expect(await positionNow()).toMatchObject({ stopLoss: lower, takeProfit });
    });

    it('closes part of a position with a client id, then the rest', async () => {
      const from = new Date(Date.now() - 1_000).toISOString();
      const { positionId } = await port.placeOrder({ clientId: clientId(), symbol: sym('EURUSD'), side: 'sell', type: 'market', volume: vol(0.3) });
      const partial = clientId();
      await port.closePosition(positionId!, { volume: vol(0.1), clientId: partial });
      expect((await port.getPositions()).find((candidate) => candidate.id === positionId)).toMatchObject({ volume: vol(0.2) });
      const partialClose = expect.objectContaining({ positionId, entry: 'out', side: 'buy', volume: vol(0.1) });
      if (capabilities.closeClientId) {
        expect((await port.findByClientId(partial)).deals).toEqual([partialClose]);
      } else {
        // The close carried no client id: it is recognised by what it did to the position.
        expect(await closesOf(positionId, from)).toEqual([partialClose]);
      }

      const rest = clientId();
      const closed = await port.closePosition(positionId!, { clientId: rest });
      expect(closed.positionId).toBe(positionId);
      expect((await port.getPositions()).some((candidate) => candidate.id === positionId)).toBe(false);
      const restClose = expect.objectContaining({ positionId, entry: 'out', side: 'buy', volume: vol(0.2) });
      if (capabilities.closeClientId) {
        expect((await port.findByClientId(rest)).deals).toEqual([restClose]);
      } else {
        expect(closed.volume).toBe(vol(0.2));
        expect(await closesOf(positionId, from)).toEqual([partialClose, restClose]);
        expect(await port.findByClientId(rest)).toEqual({ positions: [], orders: [], deals: [] });
      }

      const again = await rejection(port.closePosition(positionId!, {}));
      expect(again).toMatchObject({ code: 'POSITION_NOT_FOUND', errorClass: 'terminal' });
    });

    it('lists the trade deals of a time range, oldest first, the end excluded', async () => {
      const from = new Date(Date.now() - 1_000).toISOString();
      const { positionId } = await port.placeOrder({ clientId: clientId(), symbol: sym('XAUUSD'), side: 'buy', type: 'market', volume: vol(0.01, 'XAUUSD') });
      await port.closePosition(positionId!, {});
      const to = new Date(Date.now() + 60_000).toISOString();

      const deals = await port.getDeals(from, to);
      const ofPosition = deals.filter((deal) => deal.positionId === positionId);
      expect(ofPosition.map((deal) => `${deal.entry}:${deal.side}`)).toEqual(['in:buy', 'out:sell']);
      expect(ofPosition.map((deal) => deal.volume)).toEqual([vol(0.01, 'XAUUSD'), vol(0.01, 'XAUUSD')]);
      expect(new Set(deals.map((deal) => deal.id)).size).toBe(deals.length);
      expect(ofPosition[1]!.profit).toEqual(expect.any(Number));
      const times = deals.map((deal) => Date.parse(deal.time));
      expect(times).toEqual([...times].sort((a, b) => a - b));
      for (const deal of deals) {
        expect(deal.time >= from && deal.time < to).toBe(true);
        expect(deal.symbol).toMatch(/\S/);
      }
      const openedAt = ofPosition[0]!.time;
      expect((await port.getDeals(from, openedAt)).some((deal) => deal.id === ofPosition[0]!.id)).toBe(false);
      expect(await port.getDeals(new Date(Date.now() - 48 * hour).toISOString(), new Date(Date.now() - 47 * hour).toISOString())).toEqual([]);
    });

    it('gives the symbol specification and quote, and undefined for a symbol the broker does not offer', async () => {
      const spec = await port.getSymbolSpec(sym('EURUSD'));
      expect(spec).toMatchObject(traits.eurUsdSpec ?? lotsEurUsdSpec);
      expect(spec!.tickValue).toBeGreaterThan(0);
      expect(await port.getSymbolSpec('NOSUCH')).toBeUndefined();
      const quote = await port.getQuote(sym('EURUSD'));
      expect(quote!.ask).toBeGreaterThan(quote!.bid);
      expect(await port.getQuote('NOSUCH')).toBeUndefined();
    });

    it('refuses what the broker refuses: no money, invalid stops, an unknown symbol', async () => {
      const broke = await rejection(port.placeOrder({ clientId: clientId(), symbol: sym('EURUSD'), side: 'buy', type: 'market', volume: vol(100) }));
      expect(broke).toMatchObject({ code: 'NO_MONEY', errorClass: 'terminal' });
      const quote = (await port.getQuote(sym('EURUSD')))!;
      const badStops = await rejection(
        port.placeOrder({
          clientId: clientId(),
          symbol: sym('EURUSD'),
          side: 'buy',
          type: 'market',
          volume: vol(0.1),
          stopLoss: Number((quote.ask + 0.01).toFixed(5)),
        }),
      );
      expect(badStops).toMatchObject({ code: 'INVALID_STOPS', errorClass: 'terminal' });
      const unknown = await rejection(port.placeOrder({ clientId: clientId(), symbol: 'NOSUCH', side: 'buy', type: 'market', volume: vol(0.1) }));
      expect(unknown).toMatchObject({ code: 'UNKNOWN_SYMBOL', errorClass: 'terminal' });
    });

    it.each(traits.refusals ?? allRefusals)('classifies a %s refusal and executes nothing', async (code) => {
      const id = clientId();
      subject.market.setFaults(subject.marketAccountId, { rejectNext: 1, code });
      const error = await rejection(port.placeOrder({ clientId: id, symbol: sym('EURUSD'), side: 'buy', type: 'market', volume: vol(0.01) }));
      expect(error).toMatchObject({ code, errorClass: brokerErrorCodes[code] });
      expect(await port.findByClientId(id)).toEqual({ positions: [], orders: [], deals: [] });
    });

    it('fails a trade whose answer is lost with TIMEOUT, and findByClientId shows what it did', async () => {
      const id = clientId();
      if (subject.loseNextTradeAnswer) subject.loseNextTradeAnswer();
      else subject.market.setFaults(subject.marketAccountId, { timeoutAfterExecuteNext: 1 });
      const error = await rejection(port.placeOrder({ clientId: id, symbol: sym('EURUSD'), side: 'sell', type: 'market', volume: vol(0.02) }));
      expect(error).toMatchObject({ code: 'TIMEOUT', errorClass: 'reconcile' });
      const found = await port.findByClientId(id);
      expect(found.positions).toEqual([expect.objectContaining({ symbol: sym('EURUSD'), side: 'sell', volume: vol(0.02), clientId: id })]);
    });
  });
};
