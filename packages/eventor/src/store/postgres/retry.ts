/**
 * A lost connection, tried again: when the server restarts, stops for a while or the network
 * fails, a statement is retried with backoff for up to a window (the run's `leaseTtl`), and only
 * then fails. Used on both threads (the run loop's pool, and the worker behind the synchronous
 * calls), so it knows nothing but errors and time. A statement tried again must be safe to run
 * twice: whoever retries one whose outcome is unknown (it was sent) makes sure of that.
 */

/** Node's codes of a server that cannot be reached, or of a connection cut. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/** The driver's own messages of a connection that broke or could not be made in time. */
const DRIVER_MESSAGES =
  /Connection terminated unexpectedly|timeout expired|Client has encountered a connection error|Connection terminated due to connection timeout/i;

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The connection was lost or refused: the server stopped or restarted (57P01 admin shutdown, 57P02
 * crash, 57P03 starting up or shutting down), the connection broke (class 08, a cut socket), or no
 * server answered. Nothing else: a statement the server refused stays refused.
 */
export function isConnectionLoss(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (SOCKET_CODES.has(code) || code.startsWith('08'))) return true;
  if (code === '57P01' || code === '57P02' || code === '57P03') return true;
  const message = error instanceof Error ? error.message : '';
  return DRIVER_MESSAGES.test(message);
}

/** A transaction the server rolled back for a conflict with another one: running it again is safe. */
export function isRolledBackConflict(error: unknown): boolean {
  const code = codeOf(error);
  return code === '40001' || code === '40P01';
}

const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 1_000;

/**
 * Runs `attempt` until it succeeds; a connection loss (or a rolled-back conflict) is tried again
 * after 50 ms, 100 ms, … (at most 1 s apart) while the window since the first failure lasts. The
 * last error is thrown when the window is over, or at once for any other error.
 */
export async function withRetry<T>(attempt: () => Promise<T>, windowMs: number): Promise<T> {
  let deadline: number | undefined;
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConnectionLoss(error) && !isRolledBackConflict(error)) throw error;
      deadline ??= Date.now() + windowMs;
      const left = deadline - Date.now();
      if (left <= 0) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    }
  }
}
