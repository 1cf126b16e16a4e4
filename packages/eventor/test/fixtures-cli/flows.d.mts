import type * as EventorModule from '../../src/index.js';

type Lib = typeof EventorModule;
type Eventor = EventorModule.Eventor;
type RunMode = 'restart' | 'recover' | 'continue';

export function buildDemo(
  lib: Lib,
  options: {
    store: string;
    runMode?: RunMode;
    param?: number;
    logger?: EventorModule.Logger;
    logLevel?: EventorModule.LogLevel;
  },
): Eventor;
export function buildDelayed(lib: Lib, options: { store: string; runMode?: RunMode }): Eventor;
export function buildWaiting(lib: Lib, options: { store: string }): Eventor;
export function buildPoolHeld(lib: Lib, options: { store: string; poolName?: string }): Eventor;
export function buildStopped(lib: Lib, options: { store: string }): Eventor;
export function buildCapped(
  lib: Lib,
  options: { store: string; gate: Promise<unknown>; onStart?: (sequence: string) => void },
): Eventor;
export function buildProgress(lib: Lib, options: { store: string; ms?: number }): Eventor;
