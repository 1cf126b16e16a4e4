/**
 * A TCP proxy in front of a PostgreSQL server that can lose an answer: the connection that sends a
 * statement naming `marker` is cut once the server has answered it in full (ReadyForQuery), so the
 * statement ran and committed, and the client only sees its connection break. What a server
 * restart or a network failure does to a commit at the worst moment, made to happen on purpose.
 * The proxy runs in a thread of its own (fixtures-store/cutting-proxy.mjs).
 */
import { Worker } from 'node:worker_threads';

export interface CuttingProxy {
  /** `url` (a postgres: URL of the server) with the proxy's host and port instead. */
  via(url: string): string;
  /** Cuts the next connection that sends `marker`, after the server's full answer; resolves once cut. */
  cutAfterAnswer(marker: string): Promise<void>;
  close(): Promise<void>;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  const worker = new Worker(new URL('../fixtures-store/cutting-proxy.mjs', import.meta.url), {
    workerData: target,
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { type: string; port: number }) => resolve(message.port));
  });
  return {
    via(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    cutAfterAnswer(marker) {
      worker.postMessage({ type: 'arm', marker });
      return new Promise((resolve) => {
        worker.once('message', () => resolve());
      });
    },
    async close() {
      worker.postMessage({ type: 'close' });
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}
