// Flows the CLI and progress tests run. Each builder takes the eventor module (`lib`): the tests
// pass the source (../src/index.js), the child scripts the built package, so both build one flow.

/** s1 squares 3; s2 takes a square root (fails below zero); s3 runs once both are done. */
export function buildDemo(lib, { store, runMode = 'restart', param = 9, logger, logLevel = 'silent' }) {
  const ev = new lib.Eventor({ name: 'demo', store, runMode, logger, logLevel });
  const ev1s = ev.addEvent('run_step1');
  const ev1d = ev.addEvent('done_step1');
  const ev2s = ev.addEvent('run_step2');
  const ev2d = ev.addEvent('done_step2');
  const ev3s = ev.addEvent('run_step3', { expr: [ev1d, ev2d] });
  const s1 = ev.addStep('s1', { func: square, args: [3], triggers: { success: [ev1d, ev2s] } });
  const s2 = ev.addStep('s2', {
    func: squareRoot,
    args: [param],
    triggers: { success: [ev2d] },
    recovery: { failure: 'rerun', success: 'skip' },
  });
  const s3 = ev.addStep('s3', { func: divide, args: [9, 3] });
  ev.addAssoc(ev1s, s1);
  ev.addAssoc(ev2s, s2);
  ev.addAssoc(ev3s, s3);
  ev.triggerEvent(ev1s, 3);
  return ev;
}

function square(x) {
  return x * x;
}

function squareRoot(x) {
  if (x < 0) throw new RangeError(`math domain error: cannot take the square root of ${x}`);
  return Math.sqrt(x);
}

function divide(x, y) {
  return x / y;
}

/** `go` starts `now` at once and `later` after an hour; run with maxLoops: 1 to leave the delay pending. */
export function buildDelayed(lib, { store, runMode = 'restart' }) {
  const ev = new lib.Eventor({ name: 'delayed', store, runMode, logLevel: 'silent' });
  const go = ev.addEvent('go');
  const wake = ev.addEvent('wake');
  const now = ev.addStep('now', { func: () => 'now' });
  const later = ev.addStep('later', { func: () => 'later' });
  ev.addAssoc(go, now);
  ev.addAssoc(go, later, { delay: '1h' });
  ev.addAssoc(go, wake, { delay: '30m' });
  const woken = ev.addStep('woken');
  ev.addAssoc(wake, woken);
  ev.triggerEvent(go);
  return ev;
}

/**
 * `publish` waits for `approve`, which nothing in the flow fires; `ship` waits for
 * or(approve, and(built, tested)), where `built` fires (build succeeds) and `tested` does not
 * (test fails, handled by a failure trigger).
 */
export function buildWaiting(lib, { store }) {
  const ev = new lib.Eventor({ name: 'waiting', store, logLevel: 'silent' });
  const start = ev.addEvent('start');
  const approve = ev.addEvent('approve');
  const built = ev.addEvent('built');
  const tested = ev.addEvent('tested');
  const testFailed = ev.addEvent('test_failed');
  const release = ev.addEvent('release', { expr: lib.or(approve, lib.and(built, tested)) });
  const build = ev.addStep('build', { func: () => 'built', triggers: { success: built } });
  const test = ev.addStep('test', {
    func: () => {
      throw new Error('2 of 40 tests failed\nsee report.xml');
    },
    triggers: { success: tested, failure: testFailed },
  });
  const publish = ev.addStep('publish');
  const ship = ev.addStep('ship');
  const notify = ev.addStep('notify');
  ev.addAssoc(start, [build, test]);
  ev.addAssoc(approve, publish);
  ev.addAssoc(release, ship);
  ev.addAssoc(testFailed, notify);
  ev.triggerEvent(start, 'nightly');
  return ev;
}

/** `holder` takes the only unit of `pool` and keeps it (releases: []); `waiter` then waits for it. */
export function buildPoolHeld(lib, { store, poolName = 'db' }) {
  const ev = new lib.Eventor({ name: 'pool', store, logLevel: 'silent' });
  const pool = new lib.ResourcePool(poolName, { limit: 1 });
  const go = ev.addEvent('go');
  const held = ev.addEvent('held');
  const holder = ev.addStep('holder', { acquires: [[pool, 1]], releases: [], triggers: { success: held } });
  const waiter = ev.addStep('waiter', { acquires: [[pool, 1]] });
  ev.addAssoc(go, holder);
  ev.addAssoc(held, waiter);
  ev.triggerEvent(go);
  return ev;
}

/**
 * `fail` throws at once; `slow` succeeds a little later and fires `after`, whose task is created
 * but never started because the run stops on the unhandled failure.
 */
export function buildStopped(lib, { store }) {
  const ev = new lib.Eventor({ name: 'stopped', store, logLevel: 'silent' });
  const go = ev.addEvent('go');
  const slowDone = ev.addEvent('slow_done');
  const fail = ev.addStep('fail', {
    func: () => {
      throw new TypeError('cannot read the input file');
    },
  });
  const slow = ev.addStep('slow', {
    func: () => new Promise((resolve) => setTimeout(() => resolve('slow'), 100)),
    triggers: { success: slowDone },
  });
  const after = ev.addStep('after');
  ev.addAssoc(go, [fail, slow]);
  ev.addAssoc(slowDone, after);
  ev.triggerEvent(go);
  return ev;
}

/**
 * `capped` runs one task at a time (maxConcurrent 1) in sequences 1 and 2; each call waits for
 * `gate` (a promise the caller resolves), so the second task stays ready while the first runs.
 */
export function buildCapped(lib, { store, gate, onStart }) {
  const ev = new lib.Eventor({ name: 'capped', store, logLevel: 'silent' });
  const go = ev.addEvent('go');
  const capped = ev.addStep('capped', {
    func: async () => {
      onStart?.(lib.currentStep().sequence);
      await gate;
      return 'ok';
    },
    config: { maxConcurrent: 1 },
  });
  ev.addAssoc(go, capped);
  ev.triggerEvent(go, 1);
  ev.triggerEvent(go, 2);
  return ev;
}

/**
 * For the progress view: `prepare` then three `work` tasks (sequences a, b, c) that take `ms` each,
 * `check` fails (handled: it fires `check_failed`, which runs `report`).
 */
export function buildProgress(lib, { store, ms = 300 }) {
  const ev = new lib.Eventor({ name: 'progress', store, logLevel: 'silent' });
  const go = ev.addEvent('go');
  const prepared = ev.addEvent('prepared');
  const checkFailed = ev.addEvent('check_failed');
  const prepare = ev.addStep('prepare', { func: () => sleep(ms / 2), triggers: { success: prepared } });
  const work = ev.addStep('work', { func: () => sleep(ms) });
  const check = ev.addStep('check', {
    func: async () => {
      await sleep(ms / 2);
      throw new Error('checksum mismatch');
    },
    triggers: { failure: checkFailed },
  });
  const report = ev.addStep('report', { func: () => sleep(ms / 3) });
  ev.addAssoc(go, prepare);
  ev.addAssoc(prepared, [work, check]);
  ev.addAssoc(checkFailed, report);
  for (const sequence of ['a', 'b', 'c']) ev.triggerEvent(go, sequence);
  return ev;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
