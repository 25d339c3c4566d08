/**
 * The value, or an error that says what was missing. For what a contract guarantees (an
 * AWS answer with `ReturnValues`, a regex group that matched, an item of a non-empty list):
 * where `value!` would let an undefined slip on, this stops at the broken promise and names it.
 */
export const required = <T>(value: T | null | undefined, what: string): T => {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
};
