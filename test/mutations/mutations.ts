/**
 * `npm run mutations`: plants each bug below in the code, runs the tests named for it, and
 * reports whether they caught it (they must fail). Every bug here was once let through by the
 * suite (a mutation audit), or is one the copy path must never regain. The source is restored
 * after each run, also on Ctrl-C.
 *
 *   npm run mutations                    # all of them
 *   npm run mutations -- reconcile       # those whose name contains "reconcile"
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

interface Mutation {
  name: string;
  file: string;
  from: string;
  to: string;
  /** Test files that must fail with the mutation in place. */
  tests: string[];
}

const mutations: Mutation[] = [
  {
    name: 'diff ignores a change of the take profit alone',
    file: 'shared/domain/master-events.ts',
    from: ' || !sameNumber(position.takeProfit, last.takeProfit)',
    to: '',
    tests: ['test/domain/master-events.test.ts'],
  },
  {
    name: 'copy drops the take profit of a modification',
    file: 'shared/use-cases/copy-signal.ts',
    from: 'takeProfit: mapping.copyTakeProfit ? (stops.takeProfit ?? null) : undefined,',
    to: 'takeProfit: undefined,',
    tests: ['test/copy-engine/modify-copies.test.ts'],
  },
  {
    name: 'reversed mapping does not swap SL/TP on a modification',
    file: 'shared/use-cases/copy-signal.ts',
    from: 'takeProfit: source.takeProfit }, mapping);',
    to: 'takeProfit: source.takeProfit }, { ...mapping, reverse: false });',
    tests: ['test/copy-engine/modify-copies.test.ts'],
  },
  {
    name: 'exclude checked on the renamed symbol',
    file: 'shared/domain/copy-planning.ts',
    from: 'if (rules?.exclude?.includes(masterSymbol))',
    to: 'if (rules?.exclude?.includes(rules?.map?.[masterSymbol] ?? masterSymbol))',
    tests: ['test/domain/copy-planning.test.ts'],
  },
  {
    name: 'protection store ignores the tenant',
    file: 'shared/adapters/dynamodb/protection-store.ts',
    from: 'pk: tenantKey(tenantId), sk: `PROTECTION#',
    to: "pk: tenantKey('shared'), sk: `PROTECTION#",
    tests: ['test/adapters/dynamodb/api-stores.test.ts'],
  },
  {
    name: 'book committed before the signals are sent',
    file: 'shared/use-cases/sync-accounts.ts',
    from: '  if (signals.length > 0) await deps.queue.send(signals);\n  let committed = true;\n  if (shouldWriteBook(previous, book, events, deps.bookRefreshMs)) {\n    try {\n      await deps.books.put(book);\n',
    to: '  let committed = true;\n  if (shouldWriteBook(previous, book, events, deps.bookRefreshMs)) {\n    try {\n      await deps.books.put(book);\n      if (signals.length > 0) await deps.queue.send(signals);\n',
    tests: ['test/copy-engine/sync-order.test.ts'],
  },
  {
    name: 'reconcile does not repair a lost close (unit)',
    file: 'shared/domain/reconcile.ts',
    from: "if (link.kind === 'position' && !positions.has(link.masterTicket)) {",
    to: "if (link.kind === 'position' && !positions.has(link.masterTicket) && false) {",
    tests: ['test/domain/reconcile.test.ts'],
  },
  {
    name: 'reconcile does not repair a lost close (property, every run loses a close)',
    file: 'shared/domain/reconcile.ts',
    from: "if (link.kind === 'position' && !positions.has(link.masterTicket)) {",
    to: "if (link.kind === 'position' && !positions.has(link.masterTicket) && false) {",
    tests: ['test/copy-engine/reconcile.property.test.ts'],
  },
  {
    name: 'multiplier sizing in binary floats (0.7 x 3 = 2.0999999999999996)',
    file: 'shared/domain/copy-planning.ts',
    from: "return { kind: 'volume', volume: mul(masterVolume, sizing.multiplier) };",
    to: "return { kind: 'volume', volume: div(input.masterVolume * sizing.multiplier, 1) };",
    tests: ['test/domain/exact-volumes.test.ts'],
  },
  {
    name: 'partial close subtracts lots in binary floats',
    file: 'shared/domain/position-link.ts',
    from: 'const rest = subtractLots(link.slaveVolume, slaveClosed);',
    to: 'const rest = link.slaveVolume - slaveClosed;',
    tests: ['test/domain/position-link.test.ts'],
  },
  {
    name: 'breach written before the closeAll closes are queued',
    file: 'shared/use-cases/protect-slave.ts',
    from: '  if (!changed) return protection;\n  if (marked.breach) {',
    to: '  if (!changed) return protection;\n  await deps.protections.updateStatus(account.tenantId, account.id, marked.status);\n  if (marked.breach) {',
    tests: ['test/copy-engine/protection-breach.test.ts'],
  },
  {
    name: 'account transaction not sent again after a conflict on the tenant count',
    file: 'shared/adapters/dynamodb/table.ts',
    from: 'input: TransactWriteItemsCommandInput, attempts = 5)',
    to: 'input: TransactWriteItemsCommandInput, attempts = 1)',
    tests: ['test/adapters/dynamodb/account-quota-race.test.ts'],
  },
  {
    name: 'signal schema lets a fill through without its position',
    file: 'shared/schemas/copy-signal.schema.ts',
    from: "orderEvent('orderFilled').extend({ position: trackedPosition }),",
    to: "orderEvent('orderFilled'),",
    tests: ['test/domain/copy-signal-schema.test.ts'],
  },
];

const filter = process.argv[2];
const chosen = filter ? mutations.filter((mutation) => mutation.name.includes(filter)) : mutations;
let planted: { file: string; original: string } | undefined;
const restore = () => {
  if (planted) writeFileSync(planted.file, planted.original);
  planted = undefined;
};
process.on('SIGINT', () => {
  restore();
  process.exit(130);
});

const survived: string[] = [];
for (const mutation of chosen) {
  const original = readFileSync(mutation.file, 'utf8');
  const occurrences = original.split(mutation.from).length - 1;
  if (occurrences !== 1) throw new Error(`"${mutation.name}": expected the code to plant it in once in ${mutation.file}, found it ${occurrences} times`);
  planted = { file: mutation.file, original };
  writeFileSync(mutation.file, original.replace(mutation.from, mutation.to));
  try {
    const run = spawnSync('npx', ['vitest', 'run', ...mutation.tests], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
    const output = `${run.stdout}\n${run.stderr}`;
    const failedTests = [
      ...new Set(
        output
          .split('\n')
          .filter((line) => /^\s*(×|FAIL)\s/.test(line))
          .map((line) => line.trim()),
      ),
    ].slice(0, 3);
    const caught = run.status !== 0 && failedTests.length > 0;
    if (!caught) survived.push(mutation.name);
    console.log(`${caught ? 'caught   ' : 'SURVIVED '} ${mutation.name}`);
    console.log(`          ${mutation.file}; by ${mutation.tests.join(', ')}`);
    for (const line of failedTests) console.log(`          ${line}`);
  } finally {
    restore();
  }
}
console.log(
  survived.length === 0 ? `\nall ${chosen.length} mutations caught` : `\n${survived.length} of ${chosen.length} mutations survived: ${survived.join('; ')}`,
);
process.exit(survived.length === 0 ? 0 : 1);
