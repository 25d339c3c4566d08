import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wouldCloseCycle } from '../../shared/domain/copy-mapping';

const edge = (masterAccountId: string, slaveAccountId: string) => ({ masterAccountId, slaveAccountId });

describe('wouldCloseCycle', () => {
  it('refuses an account copying itself', () => {
    expect(wouldCloseCycle([], 'A', 'A')).toBe(true);
  });

  it('refuses B -> A when A -> B exists', () => {
    expect(wouldCloseCycle([edge('A', 'B')], 'B', 'A')).toBe(true);
  });

  it('refuses the edge that closes a longer cycle', () => {
    const chain = [edge('A', 'B'), edge('B', 'C'), edge('C', 'D'), edge('D', 'E')];
    expect(wouldCloseCycle(chain, 'E', 'A')).toBe(true);
    expect(wouldCloseCycle(chain, 'D', 'B')).toBe(true);
  });

  it('finds a cycle through one branch of several', () => {
    const edges = [edge('A', 'B'), edge('B', 'X'), edge('B', 'Y'), edge('Y', 'Z')];
    expect(wouldCloseCycle(edges, 'Z', 'A')).toBe(true);
  });

  it('accepts a diamond, where two paths join without a cycle', () => {
    const diamond = [edge('A', 'B'), edge('A', 'C'), edge('B', 'D')];
    expect(wouldCloseCycle(diamond, 'C', 'D')).toBe(false);
    expect(wouldCloseCycle([...diamond, edge('C', 'D')], 'A', 'D')).toBe(false);
  });

  it('accepts a chain extended at its end and one master copied to many slaves', () => {
    expect(wouldCloseCycle([edge('A', 'B'), edge('B', 'C')], 'C', 'D')).toBe(false);
    expect(wouldCloseCycle([edge('A', 'B'), edge('A', 'C')], 'A', 'D')).toBe(false);
    expect(wouldCloseCycle([edge('A', 'B')], 'A', 'B')).toBe(false);
  });

  it('terminates on a graph that already holds a cycle elsewhere', () => {
    expect(wouldCloseCycle([edge('X', 'Y'), edge('Y', 'X'), edge('B', 'X')], 'A', 'B')).toBe(false);
  });

  it('keeps any graph built only from accepted edges acyclic', () => {
    const accounts = fc.constantFrom('A', 'B', 'C', 'D', 'E', 'F');
    fc.assert(
      fc.property(fc.array(fc.tuple(accounts, accounts), { maxLength: 30, size: 'max' }), (proposals) => {
        const accepted: Array<ReturnType<typeof edge>> = [];
        for (const [master, slave] of proposals) if (!wouldCloseCycle(accepted, master, slave)) accepted.push(edge(master, slave));
        // Kahn's algorithm: a graph is acyclic iff every node can be removed in topological order.
        const inDegree = new Map<string, number>();
        for (const { masterAccountId, slaveAccountId } of accepted) {
          inDegree.set(masterAccountId, inDegree.get(masterAccountId) ?? 0);
          inDegree.set(slaveAccountId, (inDegree.get(slaveAccountId) ?? 0) + 1);
        }
        const ready = [...inDegree].filter(([, degree]) => degree === 0).map(([node]) => node);
        let removed = 0;
        while (ready.length > 0) {
          const node = ready.pop()!;
          removed += 1;
          for (const next of accepted.filter((candidate) => candidate.masterAccountId === node)) {
            const degree = (inDegree.get(next.slaveAccountId) ?? 0) - 1;
            inDegree.set(next.slaveAccountId, degree);
            if (degree === 0) ready.push(next.slaveAccountId);
          }
        }
        expect(removed).toBe(inDegree.size);
      }),
      { numRuns: 500 },
    );
  });
});
