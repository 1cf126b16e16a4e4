import type * as Lib from '../../src/index.js';

export function buildCrashFlow(
  lib: typeof Lib,
  options: {
    store: string;
    dir: string;
    runMode?: Lib.RunMode;
    sequences?: string[];
    onHang?: (sequence: string) => void;
  },
): Lib.Eventor;

export function buildHoldFlow(
  lib: typeof Lib,
  options: {
    store: string;
    runId?: string;
    runMode?: Lib.RunMode;
    hold?: () => Promise<void>;
    handleSignals?: boolean;
  },
): Lib.Eventor;

export function buildChainFlow(
  lib: typeof Lib,
  options: { store: string; runId: string; length: number },
): Lib.Eventor;
