import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../src/main.js';

describe('evproc plugins example', () => {
  it('loads both plugins and orders the handlers across packages by name', async () => {
    const { loaded, order } = await runDemo([]);
    // Packages in sorted order (audit, then auth), handler names sorted inside each.
    expect(loaded).toEqual(['audit_done', 'audit_record', 'authenticate']);
    expect(order).toEqual(['authenticate', 'audit_record', 'perform']);
  });

  it('runs allowed requests and stops unauthorised ones before audit and perform', async () => {
    const { outcomes, journal } = await runDemo();
    expect(outcomes).toEqual([
      { ok: true, user: 'ann', action: 'deploy' },
      { ok: false, user: 'bob', action: 'deploy', reason: 'viewer "bob" may not deploy' },
      { ok: false, user: 'mallory', action: 'status', reason: 'unknown user "mallory"' },
      { ok: true, user: 'bob', action: 'status' },
    ]);
    expect(journal).toEqual([
      'audit: ann deploy as deployer',
      'perform: deploy for ann',
      'audit: ann deploy done',
      'audit: bob status as viewer',
      'perform: status for bob',
      'audit: bob status done',
    ]);
  });

  it('prints the order and the outcome when started', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toContain('order for "request": authenticate -> audit_record -> perform');
    expect(out).toContain('bob deploy: denied (viewer "bob" may not deploy)');
    expect(out).toContain('ann deploy: done');
  });
});
