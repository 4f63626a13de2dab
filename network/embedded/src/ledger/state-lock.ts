/**
 * Simulations read the state while no block is being applied, and a block waits for running
 * simulations to finish (Fabric's txmgr commitRWLock): every endorsement sees one committed state.
 * Writer preference, so a steady stream of proposals cannot starve the committer. Whoever wakes
 * a waiter takes the lock on its behalf, so nobody can slip in between.
 */
export class StateLock {
  private readers = 0;
  private writing = false;
  private readonly waitingWriters: (() => void)[] = [];
  private readonly waitingReaders: (() => void)[] = [];

  async read<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.writing || this.waitingWriters.length > 0) {
      await new Promise<void>((resolve) => this.waitingReaders.push(resolve));
    } else {
      this.readers++;
    }
    try {
      return await fn();
    } finally {
      this.readers--;
      this.wake();
    }
  }

  async write<T>(fn: () => T): Promise<T> {
    if (this.writing || this.readers > 0) {
      await new Promise<void>((resolve) => this.waitingWriters.push(resolve));
    } else {
      this.writing = true;
    }
    try {
      return fn();
    } finally {
      this.writing = false;
      this.wake();
    }
  }

  private wake(): void {
    if (this.writing) return;
    const writer = this.readers === 0 ? this.waitingWriters.shift() : undefined;
    if (writer) {
      this.writing = true;
      writer();
      return;
    }
    if (this.waitingWriters.length === 0) {
      for (const reader of this.waitingReaders.splice(0)) {
        this.readers++;
        reader();
      }
    }
  }
}
