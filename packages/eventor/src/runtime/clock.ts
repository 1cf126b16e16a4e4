/** Wall time in ms; read through one function so tests with fake timers see one clock. */
export function now(): number {
  return Date.now();
}

/** A promise that resolves at `dueAt` or when `wake` is called, whichever comes first. */
export function sleepUntil(dueAt: number, register: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, Math.max(0, dueAt - now()));
    function finish() {
      clearTimeout(timer);
      resolve();
    }
    register(finish);
  });
}
