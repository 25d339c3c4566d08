/**
 * Runs `task` over `items`, at most `concurrency` at a time, and gives the results in the
 * items' order: writes of a large batch (a backfill's deals) go out bounded, not thousands at
 * once against one client's sockets and the table's partition.
 */
export const inParallel = async <T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<R>,
  done?: (count: number) => void,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  let finished = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) {
      results[index] = await task(items[index] as T);
      finished += 1;
      done?.(finished);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
};
