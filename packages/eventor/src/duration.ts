import { formatValue } from './describe.js';
import { FlowConfigError } from './errors.js';

/** Milliseconds, or a string with a unit: '250ms', '1.5s', '10m', '6h', '1d'. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)\s*$/;

/** Parses a Duration into milliseconds; `option` names the option in the error. */
export function parseDuration(value: unknown, option: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value);
    if (match) return Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  }
  throw new FlowConfigError(
    `Option "${option}" has a bad duration ${formatValue(value)}: expected milliseconds (a number >= 0) ` +
      `or a string with a unit such as '250ms', '1.5s', '10m', '6h' or '1d'.`,
  );
}

/** A duration as options take it: whole seconds as '30s', anything else in ms. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
