import { describe, expect, it } from 'vitest';
import { inParallel } from '../../shared/runtime/in-parallel';

describe('inParallel', () => {
  it('runs at most the given number at once and keeps the results in the items order', async () => {
    let running = 0;
    let most = 0;
    const results = await inParallel([...Array(50).keys()], 16, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, (item * 7) % 5));
      running -= 1;
      return item * 2;
    });
    expect(most).toBe(16);
    expect(results).toEqual([...Array(50).keys()].map((item) => item * 2));
  });
});
