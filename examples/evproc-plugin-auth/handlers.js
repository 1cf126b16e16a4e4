// Plain ESM, no build step: evproc imports this file through the "./handlers" export.
import { StopProcessing, want } from '@flow/evproc';

const ROLES = { ann: 'deployer', bob: 'viewer' };
const ALLOWED = { deployer: ['deploy', 'status'], viewer: ['status'] };

/** Records the user's role in ev.proc.auth; stops the request (with a denial) when not allowed. */
export const authenticate = want('request')(function authenticate(_proc, ev) {
  const { user, action } = ev.ctxt;
  const role = ROLES[user];
  if (role === undefined) {
    throw new StopProcessing({ ok: false, user, action, reason: `unknown user "${user}"` });
  }
  if (!ALLOWED[role].includes(action)) {
    throw new StopProcessing({ ok: false, user, action, reason: `${role} "${user}" may not ${action}` });
  }
  ev.proc.auth.role = role;
});
