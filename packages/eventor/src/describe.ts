/** How values and thrown things read in messages and records: formatValue, describeThrown, serializeError. */

/** A value as an error message shows it; never throws (proxies and null-prototype objects included). */
export function formatValue(value: unknown): string {
  try {
    return formatValueOf(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function formatValueOf(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol')
    return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
}

/** A plain record of a thrown value; never throws, whatever was thrown (proxies, hostile getters). */
export function serializeError(error: unknown, depth = 0): SerializedError {
  try {
    if (error instanceof Error) return errorRecord(error, depth, 3, serializeError);
  } catch {
    // a hostile getter: described below like any other value
  }
  return { name: 'NonError', message: describeThrown(error) };
}

/**
 * An Error as a plain record: name, message, stack, a string `code`, and its cause as `next` makes
 * it while `depth < maxDepth`. The one walk behind the stored form and the cross-process one.
 */
export function errorRecord<T extends SerializedError>(
  error: Error,
  depth: number,
  maxDepth: number,
  next: (cause: unknown, depth: number) => T,
): T {
  const out = { name: error.name, message: error.message } as T;
  if (typeof error.stack === 'string') out.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  if (error.cause !== undefined && depth < maxDepth) out.cause = next(error.cause, depth + 1);
  return out;
}

/** Says what a step threw, in one line; never throws, whatever the value does when looked at. */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === 'string') return `threw ${JSON.stringify(value)}`;
    const json = JSON.stringify(value);
    return `threw ${json ?? String(value)}`;
  } catch {
    try {
      return `threw ${Object.prototype.toString.call(value)}`;
    } catch {
      return 'threw a value that cannot be described';
    }
  }
}
