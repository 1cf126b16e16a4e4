import { randomBytes } from 'node:crypto';
import { FlowConfigError, FlowError, leaseLostError, StoreError } from '../errors.js';
import type { ScopedLogger } from '../logger.js';
import type { RunMode } from '../model/status.js';
import type { LeaseHolder, MaybePromise, RunRow, Store } from '../store/types.js';
import type { Clock } from './clock.js';

export interface SessionOptions {
  store: Store;
  name: string;
  runMode: RunMode;
  runId: string | undefined;
  leaseTtlMs: number;
  clock: Clock;
  logger: ScopedLogger;
}

export interface ClaimedRun {
  id: string;
  recovery: number;
}

/**
 * An Eventor's hold on its run: claims it by run mode (creates it, or finds the latest or named
 * one), takes its lease and renews it every `leaseTtl`/3 while held, and notices when another
 * holder took it over. Lease loss is reported to `onLost`; signals to `onSignal`.
 */
export class RunSession {
  readonly holder: LeaseHolder;
  private claimed: ClaimedRun | undefined;
  private held = false;
  private renewal: NodeJS.Timeout | undefined;
  onLost: ((error: StoreError) => void) | undefined;

  constructor(private readonly options: SessionOptions) {
    this.holder = { token: randomBytes(12).toString('hex'), ttlMs: options.leaseTtlMs };
  }

  /** The run, for reading: claimed on first use, never claimed again afterwards. */
  get run(): ClaimedRun {
    return this.claimed ?? this.claim();
  }

  /** The run, held to write to it: created (restart) or looked up (recover, continue) on first use. */
  claim(): ClaimedRun {
    if (this.claimed) {
      if (!this.held) this.retake(this.claimed);
      return this.claimed;
    }
    const { store, runMode, runId, name, clock } = this.options;
    if (runMode === 'restart') {
      const id = runId ?? generateRunId();
      if (now(store.getRun(id))) {
        throw new FlowConfigError(
          `Run "${id}" already exists in the store; restart needs a new runId. Use runMode 'recover' or 'continue' to go on with it.`,
        );
      }
      now(store.createRun({ id, name, mode: 'restart', now: clock.now() }));
      this.take(id);
      this.claimed = { id, recovery: 0 };
      return this.claimed;
    }
    const found = now(runId === undefined ? store.latestRun(name) : store.getRun(runId));
    if (!found) throw this.noRun();
    this.take(found.id);
    const recovery = runMode === 'recover' ? found.recovery + 1 : found.recovery;
    now(
      store.updateRun({
        id: found.id,
        fields: { mode: runMode, recovery, status: 'running' },
        now: clock.now(),
      }),
    );
    this.claimed = { id: found.id, recovery };
    return this.claimed;
  }

  /** Gives the lease back (at the end of a run and on close); a failure here is only logged. */
  release(): void {
    this.stopRenewal();
    if (!this.held || !this.claimed) return;
    this.held = false;
    try {
      now(this.options.store.releaseLease({ runId: this.claimed.id, holder: this.holder }));
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        `Could not release the run's lease: ${(error as Error).message}`,
      );
    }
  }

  /** SIGINT and SIGTERM call `onSignal`; returns the function that removes the handlers. */
  static handleSignals(onSignal: (signal: NodeJS.Signals) => void): () => void {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  private take(runId: string): void {
    now(this.options.store.acquireLease({ runId, holder: this.holder, now: this.options.clock.now() }));
    this.held = true;
    this.startRenewal(runId);
  }

  /** Takes the lease again, unless another holder recovered or continued the run meanwhile. */
  private retake(run: ClaimedRun): void {
    const check = (row: RunRow) => {
      const recovered = row.recovery !== run.recovery;
      if (!recovered && (row.leaseToken === null || row.leaseToken === this.holder.token)) return;
      throw new StoreError(
        `Run "${run.id}" was ${recovered ? `recovered (it is at recovery ${row.recovery}, this Eventor at ${run.recovery})` : 'continued'} ` +
          `by another Eventor since this one last drove it, so this one would write over its outcome. ` +
          `Open a new Eventor with runMode 'continue' or 'recover' (and runId "${run.id}") to go on with it.`,
        { code: 'FLOW_RUN_MOVED_ON' },
      );
    };
    now(
      this.options.store.acquireLease({
        runId: run.id,
        holder: this.holder,
        now: this.options.clock.now(),
        check,
      }),
    );
    this.held = true;
    this.startRenewal(run.id);
  }

  /** Renews in real time: a holder whose event loop is blocked or paused falls silent, as it should. */
  private startRenewal(runId: string): void {
    this.stopRenewal();
    const every = Math.max(1, Math.floor(this.holder.ttlMs / 3));
    this.renewal = setInterval(() => this.renew(runId), every);
    this.renewal.unref();
  }

  private stopRenewal(): void {
    if (this.renewal !== undefined) clearInterval(this.renewal);
    this.renewal = undefined;
  }

  private renew(runId: string): void {
    const { store, clock } = this.options;
    if (!store.isOpen || !this.held) {
      this.stopRenewal();
      return;
    }
    Promise.resolve()
      .then(() => store.renewLease({ runId, holder: this.holder, now: clock.now() }))
      .then(
        (renewed) => {
          if (renewed || !this.held) return;
          this.held = false;
          this.stopRenewal();
          this.onLost?.(leaseLostError(runId, store.location));
        },
        (error: unknown) => {
          this.options.logger.warn(
            { err: error },
            `Could not renew the run's lease: ${(error as Error).message}`,
          );
        },
      );
  }

  private noRun(): StoreError {
    const { store, runMode, runId, name } = this.options;
    const damage = now(store.damage());
    if (damage !== undefined) {
      return new StoreError(
        `Cannot ${runMode}: the store at "${store.location}" is corrupt (${damage}), so its runs cannot be found. Restore it from a copy, or start afresh with another \`store\` path.`,
        { code: 'FLOW_STORE_FAILED' },
      );
    }
    const which =
      runId === undefined
        ? `no run of flow "${name}" (${describeFlows(now(store.flowNames()))})`
        : `no run "${runId}"`;
    return new StoreError(
      `Cannot ${runMode}: there is ${which} in the store at "${store.location}". Start one with runMode 'restart'.`,
      { code: 'FLOW_STORE_NO_RUN' },
    );
  }
}

/** A store answer the caller needs at once (the Eventor's claim calls are synchronous). */
function now<T>(value: MaybePromise<T>): T {
  if (value instanceof Promise) {
    throw new FlowError(
      'This store answers asynchronously, and the call needs its answer at once: await ev.run() first.',
      { code: 'FLOW_STORE_ASYNC' },
    );
  }
  return value;
}

function describeFlows(names: readonly string[]): string {
  if (names.length === 0) return 'the store has no runs at all';
  const shown = names.slice(0, 10).map((name) => JSON.stringify(name));
  const more = names.length > shown.length ? `, and ${names.length - shown.length} more` : '';
  return `the store has runs of ${names.length === 1 ? 'flow' : 'flows'} ${shown.join(', ')}${more}; give that \`name\``;
}

function generateRunId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r-${stamp}-${randomBytes(3).toString('hex')}`;
}
