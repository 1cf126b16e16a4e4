// An app that dispatches requests through handlers from two plugin packages, found with loadFrom.
// Run: pnpm --filter @flow/example-evproc-plugins start
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Event, NamedEvent, Processor, requires } from '@flow/evproc';

export interface RequestCtxt {
  user: string;
  action: string;
  /** Where the handlers write what they did, in order. */
  journal: string[];
}

/** A user asks to do something. */
export class Request extends Event<RequestCtxt> {
  get name() {
    return 'request';
  }
}

type AppEvents = { request: Request; 'request.done': NamedEvent<RequestCtxt> };

export interface Outcome {
  ok: boolean;
  user: string;
  action: string;
  reason?: string;
}

export interface DemoResult {
  /** Handler names as loadFrom registered them. */
  loaded: string[];
  /** The order the handlers run in for a "request" event. */
  order: string[];
  outcomes: Outcome[];
  journal: string[];
}

const appRoot = fileURLToPath(new URL('..', import.meta.url));

export const defaultRequests = [
  { user: 'ann', action: 'deploy' },
  { user: 'bob', action: 'deploy' },
  { user: 'mallory', action: 'status' },
  { user: 'bob', action: 'status' },
];

export async function runDemo(requests = defaultRequests): Promise<DemoResult> {
  const proc = new Processor<AppEvents>({ onError: 'stop' });
  // The app's own handler, registered before the plugins: `requires` still puts it after them.
  proc.register(
    requires('audit_record')(
      proc.want('request')(function perform(_proc, ev) {
        ev.ctxt.journal.push(`perform: ${ev.ctxt.action} for ${ev.ctxt.user}`);
        return [new NamedEvent('request.done', ev.ctxt)];
      }),
    ),
  );
  const loaded = await proc.loadFrom('example.handlers', { root: appRoot });
  const order = proc.order('request');

  const journal: string[] = [];
  const outcomes: Outcome[] = [];
  for (const { user, action } of requests) {
    // A StopProcessing(value) from the auth plugin comes back here; otherwise undefined.
    const denied = (await proc.process(new Request({ user, action, journal }))) as Outcome | undefined;
    outcomes.push(denied ?? { ok: true, user, action });
  }
  return { loaded, order, outcomes, journal };
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { loaded, order, outcomes, journal } = await runDemo();
  process.stdout.write(`loaded handlers: ${loaded.join(', ')}\n`);
  process.stdout.write(`order for "request": ${order.join(' -> ')}\n\n`);
  for (const o of outcomes) {
    process.stdout.write(`${o.user} ${o.action}: ${o.ok ? 'done' : `denied (${o.reason})`}\n`);
  }
  process.stdout.write(`\njournal:\n${journal.map((line) => `  ${line}`).join('\n')}\n`);
}
