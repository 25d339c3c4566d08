import { describe, expect, it } from 'vitest';
import { pipSize, slippagePips } from '../../shared/domain/pips';

describe('pips', () => {
  it('are the fourth decimal of a five-digit quote and the second of a three-digit one', () => {
    // Exactly the decimal: limits in pips are compared at their boundary.
    expect(pipSize(5)).toBe(0.0001);
    expect(pipSize(3)).toBe(0.01);
    expect(pipSize(4)).toBe(0.0001);
    expect(pipSize(2)).toBe(0.01);
    expect(pipSize(0)).toBe(1);
  });

  it('count a buy filled higher and a sell filled lower as slippage, the other way as a better fill', () => {
    expect(slippagePips('buy', 1.1, 1.10013, 5)).toBe(1.3);
    expect(slippagePips('buy', 1.1, 1.09995, 5)).toBe(-0.5);
    expect(slippagePips('sell', 1.1, 1.09987, 5)).toBe(1.3);
    expect(slippagePips('sell', 151.2, 151.25, 3)).toBe(-5);
    expect(slippagePips('buy', 2300.5, 2300.5, 2)).toBe(0);
    expect(Object.is(slippagePips('sell', 1.1, 1.1, 5), -0)).toBe(false);
  });
});
