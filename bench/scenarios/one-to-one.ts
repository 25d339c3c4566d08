import { seededRandom } from '../../local/simulated-broker/simulated-market';
import { reasonOf, type CopyRecord } from '../../shared/domain/copy-record';
import { createMapping } from '../../shared/use-cases/manage-mappings';
import { CopyFeed, simulatedAccount, sleep } from '../fixtures';
import { clock, coveredMs, TRADE_METHODS, type AwsCall, type BrokerCall } from '../meters';
import type { Progress } from '../progress';
import type { BenchStack } from '../stack';
import { summarize, type Summary } from '../stats';

export interface OneToOneOptions {
  events: number;
  lanes: number;
  pollIntervalMs: number;
  brokerLatencyMs: number;
  consumers: number;
  burst: number;
  seed: number;
  /** Master events copied first and not measured. */
  warmUpEvents: number;
}

type Step = 'open' | 'modify' | 'partialClose' | 'close';

interface Script {
  symbol: string;
  side: 'buy' | 'sell';
  volume: number;
  steps: Step[];
}

/** One master action and what became of it on the slave. All times are epoch milliseconds. */
export interface CopySample {
  step: Step;
  positionId: string;
  fillAt: number;
  /** The sync's read of the master that first showed the change returned. */
  seenAt?: number;
  /** The slave's order went to the broker / the broker answered (the port's call). */
  sentAt?: number;
  filledAt?: number;
  status?: CopyRecord['status'];
  reason?: string;
  detectionMs?: number;
  engineMs?: number;
  endToEndMs?: number;
  /** Broker time (injected latency) between detection and sending, taken out of `engineMs`. */
  brokerWaitMs?: number;
  /** The records' own view: sentAt - detectedAt, broker reads of the master and slave included. */
  recordEngineMs?: number;
  /** No other copy to the slave was detected in the same pass or in flight meanwhile: nothing to queue behind. */
  alone?: boolean;
  /** Where the engine overhead of a lone copy went, in ms (see `stagesOf`). */
  stages?: Stages;
}

/**
 * seen -> signal handed to SQS (`enqueue`) -> received by a consumer (`deliver`) -> copy
 * context read and record claimed (`readAndClaim`, whether the two go one after the other or
 * together) -> order sent (`rest`). `read` and `claim` are the two requests' own durations.
 */
export interface Stages {
  enqueue: number;
  deliver: number;
  readAndClaim: number;
  rest: number;
  read: number;
  claim: number;
}

export interface BurstResult {
  copies: number;
  seconds: number;
  copiesPerSecond: number;
}

export interface OneToOneResult {
  options: OneToOneOptions;
  samples: CopySample[];
  mix: Record<Step, number>;
  statuses: Record<string, number>;
  lost: number;
  detection: Summary;
  engine: Summary;
  endToEnd: Summary;
  recordEngine: Summary;
  /** Engine overhead of the copies that had nothing to queue behind, and where their time went (medians). */
  engineAlone: Summary;
  stagesAlone: Stages;
  durationSeconds: number;
  copiesPerSecondSustained: number;
  burstOpen: BurstResult;
  burstClose: BurstResult;
}

const SYMBOLS = ['EURUSD', 'GBPUSD', 'USDJPY', 'XAUUSD'];
const COPY_TIMEOUT_MS = 15_000;

/** Position lifecycles whose steps add up to exactly `events`: open, 0-2 SL moves, maybe a partial close, close. */
const buildScripts = (events: number, random: () => number): Script[] => {
  const scripts: Script[] = [];
  let total = 0;
  while (total < events) {
    const steps: Step[] = ['open'];
    const modifies = Math.floor(random() * 3);
    for (let i = 0; i < modifies; i += 1) steps.push('modify');
    if (random() < 0.6) steps.push('partialClose');
    steps.push('close');
    const left = events - total;
    const kept = steps.length <= left ? steps : left === 1 ? ['open' as Step] : [...steps.slice(0, left - 1), 'close' as Step];
    scripts.push({
      symbol: SYMBOLS[Math.floor(random() * SYMBOLS.length)]!,
      side: random() < 0.5 ? 'buy' : 'sell',
      volume: (2 + Math.floor(random() * 9)) / 10,
      steps: kept,
    });
    total += kept.length;
  }
  return scripts;
};

const expectedAction: Record<Step, CopyRecord['action']> = { open: 'open', modify: 'modify', partialClose: 'partialClose', close: 'close' };

/**
 * Measures one action: detection = the master read that first showed it returned - the fill;
 * engine overhead = the slave order sent - detection, less the time the slave's broker calls
 * took in between; end to end = the slave broker's answer - the master's fill.
 */
export const measureCopy = (
  sample: CopySample,
  record: CopyRecord | undefined,
  masterReads: readonly BrokerCall[],
  slaveCalls: readonly BrokerCall[],
): CopySample => {
  const seen = masterReads.find((read) => read.end > sample.fillAt);
  if (seen) {
    sample.seenAt = seen.end;
    sample.detectionMs = seen.end - sample.fillAt;
  }
  if (!record) return sample;
  sample.status = record.status;
  sample.reason = reasonOf(record);
  if (record.sentAt) sample.recordEngineMs = Date.parse(record.sentAt) - Date.parse(record.detectedAt);
  if (record.status !== 'placed' || !record.sentAt || sample.seenAt === undefined) return sample;
  const sentAt = Date.parse(record.sentAt);
  const trade = slaveCalls.find(
    (call) => TRADE_METHODS.has(call.method) && call.start >= sentAt - 5 && call.start - sentAt < 1000 && (!call.clientId || call.clientId === record.clientId),
  );
  if (!trade) return sample;
  sample.sentAt = trade.start;
  sample.filledAt = trade.end;
  sample.brokerWaitMs = coveredMs([...slaveCalls], sample.seenAt, trade.start);
  sample.engineMs = trade.start - sample.seenAt - sample.brokerWaitMs;
  sample.endToEndMs = trade.end - sample.fillAt;
  return sample;
};

/**
 * Stages of a lone copy, from the SDK calls: the sync's SendMessageBatch, the consumer's
 * ReceiveMessage that got the signal, the copy worker's BatchGetItem and its claim.
 */
export const stagesOf = (sample: CopySample, calls: readonly AwsCall[]): Stages | undefined => {
  if (sample.seenAt === undefined || sample.sentAt === undefined) return undefined;
  const after = (time: number, match: (call: AwsCall) => boolean) => calls.find((call) => call.start >= time - 0.5 && match(call));
  const send = after(sample.seenAt, (call) => call.command === 'SendMessageBatch');
  const receive = send && calls.find((call) => call.command === 'ReceiveMessage' && call.messages > 0 && call.end >= send.end);
  const read = receive && after(receive.end, (call) => call.command === 'BatchGetItem' || (call.command === 'GetItem' && call.target === 'MAPPING'));
  const claim = receive && after(receive.end, (call) => call.command === 'UpdateItem' && call.target === 'COPY');
  if (!send || !receive || !read || !claim) return undefined;
  const stored = Math.max(read.end, claim.end);
  if (stored > sample.sentAt) return undefined;
  return {
    enqueue: send.end - sample.seenAt,
    deliver: receive.end - send.end,
    readAndClaim: stored - receive.end,
    rest: sample.sentAt - stored - (sample.brokerWaitMs ?? 0),
    read: read.end - read.start,
    claim: claim.end - claim.start,
  };
};

const median = (values: number[]): number => summarize(values).p50;

/** 1 master -> 1 slave: a few positions at a time go through their lives on the master; every action is copied and measured. */
export const runOneToOne = async (stack: BenchStack, options: OneToOneOptions, progress: Progress): Promise<OneToOneResult> => {
  const bench = await stack.startSystem({ name: 'one-to-one', masterPollIntervalMs: options.pollIntervalMs, consumers: options.consumers });
  try {
    const { runtime, market } = bench;
    const tenantId = 'bench-one-to-one';
    const master = await simulatedAccount(runtime, tenantId, 'master');
    const slave = await simulatedAccount(runtime, tenantId, 'slave');
    await createMapping(runtime, tenantId, { masterAccountId: master, slaveAccountId: slave, sizing: { mode: 'multiplier', multiplier: 1 } });
    market.setFaults(master, { latencyMs: options.brokerLatencyMs });
    market.setFaults(slave, { latencyMs: options.brokerLatencyMs });
    // Two reads of the master after the mapping exists: its (empty) book is the baseline.
    const readsOf = () => bench.broker.calls.filter((call) => call.accountId === master && call.method === 'getPositions' && call.end > 0).length;
    const baseline = readsOf();
    while (readsOf() < baseline + 2) await sleep(20);

    const feed = new CopyFeed(bench, master);
    const random = seededRandom(options.seed);

    /** Plays scripts on the master, each step waiting for its copy; `record` gets every step with its copy. */
    const play = (scripts: Script[], record: (sample: CopySample, copy: CopyRecord | undefined) => void) => {
      let nextScript = 0;
      return async (): Promise<void> => {
        for (let index = nextScript++; index < scripts.length; index = nextScript++) {
          const script = scripts[index]!;
          let positionId = '';
          let volume = script.volume;
          let modifies = 0;
          for (const step of script.steps) {
            if (step === 'open') {
              positionId = market.traderTrade(master, { symbol: script.symbol, side: script.side, volume }).positionId!;
            } else if (step === 'modify') {
              modifies += 1;
              const quote = market.getQuote(script.symbol)!;
              const distance = 0.002 * modifies;
              market.traderModify(master, positionId, { stopLoss: script.side === 'buy' ? quote.bid * (1 - distance) : quote.ask * (1 + distance) });
            } else if (step === 'partialClose') {
              const part = Math.max(0.01, Number((volume / 2).toFixed(2)));
              market.traderClose(master, positionId, part);
              volume = Number((volume - part).toFixed(2));
            } else {
              market.traderClose(master, positionId);
            }
            const sample: CopySample = { step, positionId, fillAt: clock() };
            record(sample, await feed.next(positionId, COPY_TIMEOUT_MS));
            await sleep(random() * options.pollIntervalMs);
          }
        }
      };
    };

    // Warm-up, not measured: the first copies pay for code and connections being cold (both
    // JVM and Node compile as they go), as a Lambda's first invocations do.
    await play(buildScripts(options.warmUpEvents, seededRandom(options.seed + 1)), () => {})();

    const scripts = buildScripts(options.events, random);
    const samples: CopySample[] = [];
    const records = new Map<CopySample, CopyRecord | undefined>();
    let lost = 0;
    const started = clock();
    const lane = play(scripts, (sample, record) => {
      samples.push(sample);
      if (!record || record.action !== expectedAction[sample.step]) lost += 1;
      records.set(sample, record);
      progress.count('master events copied', samples.length, options.events);
    });
    await Promise.all(Array.from({ length: options.lanes }, () => lane()));
    const finished = clock();

    // Bursts: many opens on the master at once, then all of them closed at once; the slave's
    // FIFO group takes them one after another, so this is one slave's copy rate.
    const burst = async (label: string, act: () => string[]): Promise<BurstResult> => {
      const positions = act();
      const fillAt = clock();
      const done = await Promise.all(positions.map((id) => feed.next(id, COPY_TIMEOUT_MS * 4)));
      const reads = bench.broker.calls.filter((call) => call.accountId === master && call.method === 'getPositions' && call.end > fillAt);
      const seenAt = Math.min(...reads.map((call) => call.end));
      const ends = done
        .filter((record): record is CopyRecord => record !== undefined)
        .map((record) => Date.parse(record.status === 'pending' ? record.detectedAt : record.completedAt));
      const seconds = (Math.max(...ends) - seenAt) / 1000;
      progress.note(`${label}: ${ends.length}/${positions.length} copies in ${seconds.toFixed(2)} s`);
      return { copies: ends.length, seconds, copiesPerSecond: ends.length / seconds };
    };
    let burstPositions: string[] = [];
    const burstOpen = await burst(`burst of ${options.burst} opens`, () => {
      burstPositions = Array.from(
        { length: options.burst },
        (_, index) => market.traderTrade(master, { symbol: SYMBOLS[index % SYMBOLS.length]!, side: 'buy', volume: 0.1 }).positionId!,
      );
      return burstPositions;
    });
    const burstClose = await burst(`burst of ${options.burst} closes`, () => {
      for (const id of burstPositions) market.traderClose(master, id);
      return burstPositions;
    });
    await bench.system.drain(10_000);
    feed.close();

    const masterReads = bench.broker.calls
      .filter((call) => call.accountId === master && call.method === 'getPositions' && call.end > 0)
      .sort((a, b) => a.end - b.end);
    const slaveCalls = bench.broker.calls.filter((call) => call.accountId === slave && call.end > 0).sort((a, b) => a.start - b.start);
    for (const sample of samples) measureCopy(sample, records.get(sample), masterReads, slaveCalls);
    const awsCalls = [...bench.aws.between(started)].sort((a, b) => a.start - b.start);
    for (const sample of samples) {
      if (sample.seenAt === undefined || sample.filledAt === undefined) continue;
      const { seenAt, filledAt } = sample;
      sample.alone = !samples.some(
        (other) =>
          other !== sample &&
          other.seenAt !== undefined &&
          (other.seenAt === seenAt || (other.filledAt !== undefined && other.seenAt < filledAt && other.filledAt > seenAt)),
      );
      if (sample.alone) sample.stages = stagesOf(sample, awsCalls);
    }
    const lone = samples.filter((sample) => sample.alone);
    const staged = lone.map((sample) => sample.stages).filter((stages): stages is Stages => stages !== undefined);

    const defined = (values: (number | undefined)[]) => values.filter((value): value is number => value !== undefined);
    const mix = { open: 0, modify: 0, partialClose: 0, close: 0 } as Record<Step, number>;
    const statuses: Record<string, number> = {};
    for (const sample of samples) {
      mix[sample.step] += 1;
      statuses[sample.status ?? 'lost'] = (statuses[sample.status ?? 'lost'] ?? 0) + 1;
    }
    const copies = samples.filter((sample) => sample.status).length;
    return {
      options,
      samples,
      mix,
      statuses,
      lost,
      detection: summarize(defined(samples.map((sample) => sample.detectionMs))),
      engine: summarize(defined(samples.map((sample) => sample.engineMs))),
      endToEnd: summarize(defined(samples.map((sample) => sample.endToEndMs))),
      recordEngine: summarize(defined(samples.map((sample) => sample.recordEngineMs))),
      engineAlone: summarize(defined(lone.map((sample) => sample.engineMs))),
      stagesAlone: {
        enqueue: median(staged.map((stages) => stages.enqueue)),
        deliver: median(staged.map((stages) => stages.deliver)),
        readAndClaim: median(staged.map((stages) => stages.readAndClaim)),
        rest: median(staged.map((stages) => stages.rest)),
        read: median(staged.map((stages) => stages.read)),
        claim: median(staged.map((stages) => stages.claim)),
      },
      durationSeconds: (finished - started) / 1000,
      copiesPerSecondSustained: copies / ((finished - started) / 1000),
      burstOpen,
      burstClose,
    };
  } finally {
    await bench.stop();
  }
};
