/**
 * Who waits for an account stream to synchronize (`AccountStream.synchronized`): each caller
 * until the stream says so, the stream closes, or the caller's time runs out, whichever comes
 * first. A stream tells them with `settle`.
 */
export class SynchronizationWaiters {
  private readonly waiting = new Set<(synchronized: boolean) => void>();

  /** Resolves true once settled synchronized; at the timeout, whatever `synchronizedNow` says then. */
  wait(timeoutMs: number, synchronizedNow: () => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (synchronized: boolean): void => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(synchronized);
      };
      const timer = setTimeout(() => done(synchronizedNow()), timeoutMs);
      this.waiting.add(done);
    });
  }

  /** Answers every waiter: true once synchronized, false when the stream closed. */
  settle(synchronized: boolean): void {
    for (const done of [...this.waiting]) done(synchronized);
  }
}
