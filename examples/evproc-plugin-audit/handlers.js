// Plain ESM, no build step: evproc imports this file through the "./handlers" export.
import { requires, want } from '@flow/evproc';

/**
 * Runs after the auth plugin's "authenticate" handler (by name: this package does not import the
 * other one), so the role is known and unauthorised requests never reach the journal.
 */
export const auditRecord = requires('authenticate')(
  want('request')(function auditRecord(_proc, ev) {
    ev.ctxt.journal.push(`audit: ${ev.ctxt.user} ${ev.ctxt.action} as ${ev.proc.auth.role}`);
  }),
);

/** Closes the audit trail when the app reports the request done. */
export const auditDone = want('request.done')(function auditDone(_proc, ev) {
  ev.ctxt.journal.push(`audit: ${ev.ctxt.user} ${ev.ctxt.action} done`);
});
