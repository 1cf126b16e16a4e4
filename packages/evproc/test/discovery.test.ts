import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EvprocError, NamedEvent, Processor, ReregisterError } from '../src/index.js';

let root: string;
let calls: string[];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'evproc-load-'));
  calls = [];
  (globalThis as { evprocCalls?: string[] }).evprocCalls = calls;
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  delete (globalThis as { evprocCalls?: string[] }).evprocCalls;
});

function write(path: string, content: string | object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
}

/** A handler module whose functions record their calls on globalThis.evprocCalls. */
function handlerModule(exports: Record<string, string>): string {
  return Object.entries(exports)
    .map(([exportName, label]) => {
      const decl = `function ${exportName === 'default' ? 'h' : exportName}(proc, ev) { globalThis.evprocCalls.push('${label}:' + ev.name); }`;
      return exportName === 'default' ? `export default ${decl}` : `export ${decl}`;
    })
    .join('\n');
}

function app(deps: Record<string, string>, optional: Record<string, string> = {}): void {
  write(join(root, 'package.json'), {
    name: 'app',
    private: true,
    type: 'module',
    dependencies: deps,
    optionalDependencies: optional,
  });
}

/** Writes a package at `dir` (a folder inside some node_modules). */
function pkg(dir: string, json: object, files: Record<string, string> = {}): void {
  write(join(dir, 'package.json'), { version: '1.0.0', type: 'module', ...json });
  for (const [file, content] of Object.entries(files)) write(join(dir, file), content);
}

describe('Processor.loadFrom', () => {
  it('registers the handlers of the dependencies, packages and names in sorted order', async () => {
    app({ 'plugin-b': '1', 'plugin-a': '1', 'not-a-plugin': '1' });
    pkg(
      join(root, 'node_modules/plugin-b'),
      {
        name: 'plugin-b',
        exports: { './handlers': './handlers.js' },
        evproc: { 'app.handlers': { zeta: './handlers#zeta', beta: './handlers' } },
      },
      { 'handlers.js': handlerModule({ zeta: 'b.zeta', default: 'b.beta' }) },
    );
    pkg(
      join(root, 'node_modules/plugin-a'),
      {
        name: 'plugin-a',
        exports: { '.': './index.js', './handlers': './handlers.js' },
        evproc: {
          'app.handlers': { alpha: './handlers#alpha' },
          'other.group': { nope: './handlers#alpha' },
        },
      },
      { 'handlers.js': handlerModule({ alpha: 'a.alpha' }), 'index.js': 'export {};' },
    );
    pkg(join(root, 'node_modules/not-a-plugin'), { name: 'not-a-plugin', main: 'index.js' });

    const proc = new Processor();
    const names = await proc.loadFrom('app.handlers', { root });
    expect(names).toEqual(['alpha', 'beta', 'zeta']);
    expect(proc.order('ev1')).toEqual(['alpha', 'beta', 'zeta']);
    await proc.process(new NamedEvent('ev1'));
    expect(calls).toEqual(['a.alpha:ev1', 'b.beta:ev1', 'b.zeta:ev1']);
  });

  it('resolves through a pnpm-like layout of symlinks into node_modules/.pnpm', async () => {
    app({ '@scope/plug': '1' });
    const store = join(root, 'node_modules/.pnpm/@scope+plug@1.0.0/node_modules');
    pkg(
      join(store, '@scope/plug'),
      {
        name: '@scope/plug',
        exports: { './handlers': './dist/handlers.js' },
        evproc: { 'app.handlers': { scoped: './handlers#run' } },
      },
      {
        // The plugin imports its own dependency, reachable only from the store (strict layout).
        'dist/handlers.js':
          "import { label } from 'helper';\nexport function run(proc, ev) { globalThis.evprocCalls.push(label + ':' + ev.name); }",
      },
    );
    pkg(
      join(store, 'helper'),
      { name: 'helper', exports: './index.js' },
      { 'index.js': "export const label = 'helped';" },
    );
    // A package in the store that the app does not declare is not loaded.
    pkg(
      join(root, 'node_modules/.pnpm/hidden@1.0.0/node_modules/hidden'),
      {
        name: 'hidden',
        exports: { './handlers': './h.js' },
        evproc: { 'app.handlers': { hidden: './handlers' } },
      },
      { 'h.js': handlerModule({ default: 'hidden' }) },
    );
    mkdirSync(join(root, 'node_modules/@scope'), { recursive: true });
    symlinkSync(join(store, '@scope/plug'), join(root, 'node_modules/@scope/plug'), 'dir');

    const proc = new Processor();
    expect(await proc.loadFrom('app.handlers', { root })).toEqual(['scoped']);
    proc.processSync(new NamedEvent('ev'));
    expect(calls).toEqual(['helped:ev']);
  });

  it('finds packages that do not export ./package.json, and picks the import condition', async () => {
    app({ dual: '1' });
    // Hoisted one level up, as a workspace root's node_modules would be.
    const appRoot = join(root, 'apps/app');
    write(join(appRoot, 'package.json'), { name: 'app', dependencies: { dual: '1' } });
    pkg(
      join(root, 'node_modules/dual'),
      {
        name: 'dual',
        exports: {
          '.': './index.js',
          './handlers': { types: './h.d.ts', require: './h.cjs', import: './h.mjs', default: './h.cjs' },
        },
        evproc: { 'app.handlers': { dual: './handlers#dual' } },
      },
      {
        'index.js': 'export {};',
        'h.mjs': handlerModule({ dual: 'esm' }),
        'h.cjs': "exports.dual = function dual(proc, ev) { globalThis.evprocCalls.push('cjs:' + ev.name); };",
      },
    );
    const proc = new Processor();
    await proc.loadFrom('app.handlers', { root: appRoot });
    proc.processSync(new NamedEvent('ev'));
    expect(calls).toEqual(['esm:ev']);
  });

  it('supports subpath patterns and packages without exports', async () => {
    app({ patterned: '1', legacy: '1' });
    pkg(
      join(root, 'node_modules/patterned'),
      {
        name: 'patterned',
        exports: { './handlers/*': './lib/*.js', './handlers/internal/*': null },
        evproc: { 'app.handlers': { pat: './handlers/one#one' } },
      },
      { 'lib/one.js': handlerModule({ one: 'pattern' }) },
    );
    pkg(
      join(root, 'node_modules/legacy'),
      {
        name: 'legacy',
        evproc: { 'app.handlers': { leg: './lib/handlers#leg' } },
      },
      { 'lib/handlers.js': handlerModule({ leg: 'legacy' }) },
    );
    const proc = new Processor();
    await proc.loadFrom('app.handlers', { root });
    proc.processSync(new NamedEvent('ev'));
    expect(calls).toEqual(['legacy:ev', 'pattern:ev']);
  });

  it('skips a missing optional dependency and fails for a missing regular one, naming it', async () => {
    app({}, { 'not-installed': '1' });
    const proc = new Processor();
    expect(await proc.loadFrom('app.handlers', { root })).toEqual([]);

    app({ 'not-installed': '1' });
    const err = await proc.loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvprocError);
    expect((err as EvprocError).code).toBe('EVPROC_PACKAGE_NOT_FOUND');
    expect((err as Error).message).toMatch(
      /Package "not-installed" is a dependency.*cannot be found.*pnpm install/,
    );
  });

  it('fails with EvprocError naming the package and handler for a subpath that is not exported', async () => {
    app({ plug: '1' });
    pkg(
      join(root, 'node_modules/plug'),
      {
        name: 'plug',
        exports: { '.': './index.js' },
        evproc: { 'app.handlers': { h: './handlers#h' } },
      },
      { 'index.js': 'export {};', 'handlers.js': handlerModule({ h: 'h' }) },
    );
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_MODULE_NOT_FOUND');
    expect((err as Error).message).toMatch(
      /Handler "h" of package "plug".*"\.\/handlers" is not exported by "plug".*"exports": \{ "\.\/handlers": "\.\/handlers\.js" \}/,
    );
  });

  it('fails with EvprocError when the exported file does not exist', async () => {
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      exports: { './handlers': './dist/handlers.js' },
      evproc: { 'app.handlers': { h: './handlers#h' } },
    });
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_MODULE_NOT_FOUND');
    expect((err as Error).message).toMatch(
      /"plug\/handlers" resolves to .*dist.handlers\.js, which does not exist/,
    );
  });

  it('fails with EvprocError, with the cause, when the module cannot be imported', async () => {
    app({ plug: '1' });
    pkg(
      join(root, 'node_modules/plug'),
      {
        name: 'plug',
        exports: { './handlers': './handlers.js' },
        evproc: { 'app.handlers': { h: './handlers#h' } },
      },
      { 'handlers.js': "throw new Error('module blew up');" },
    );
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_IMPORT_FAILED');
    expect((err as Error).message).toMatch(/Handler "h" of package "plug".*module blew up/);
    expect(((err as Error).cause as Error).message).toBe('module blew up');
  });

  it('fails with EvprocError listing the exports when the export is missing or not a function', async () => {
    app({ plug: '1' });
    pkg(
      join(root, 'node_modules/plug'),
      {
        name: 'plug',
        exports: { './handlers': './handlers.js' },
        evproc: { 'app.handlers': { h: './handlers#missing' } },
      },
      { 'handlers.js': `${handlerModule({ one: '1', two: '2' })}\nexport const notFn = 3;` },
    );
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_EXPORT_NOT_FOUND');
    expect((err as Error).message).toMatch(
      /"plug\/handlers" has no export "missing" \(it exports "notFn", "one", "two"\)/,
    );

    pkg(
      join(root, 'node_modules/plug'),
      {
        name: 'plug',
        exports: { './handlers': './handlers2.js' },
        evproc: { 'app.handlers': { h: './handlers#notFn' } },
      },
      { 'handlers2.js': 'export const notFn = 3;' },
    );
    const err2 = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err2 as EvprocError).code).toBe('EVPROC_NOT_A_HANDLER');
    expect((err2 as Error).message).toMatch(/export "notFn" is 3, not a function/);
  });

  it('fails with EvprocError for a malformed evproc field or specifier, showing the expected shape', async () => {
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), { name: 'plug', evproc: { 'app.handlers': ['./handlers'] } });
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_BAD_FIELD');
    expect((err as Error).message).toMatch(/"plug" has a malformed "evproc" field.*"<handler name>"/);

    pkg(join(root, 'node_modules/plug'), { name: 'plug', evproc: { 'app.handlers': { h: 'handlers.js' } } });
    const err2 = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(
      /Handler "h" of package "plug".*must be the package's own subpath export/,
    );
  });

  it('fails with EvprocError when the root has no package.json', async () => {
    const err = await new Processor()
      .loadFrom('app.handlers', { root: join(root, 'nowhere') })
      .catch((e) => e);
    expect((err as EvprocError).code).toBe('EVPROC_PACKAGE_JSON');
    expect((err as Error).message).toMatch(/Cannot read the application's package\.json at .*nowhere/);
  });

  it('throws ReregisterError naming both packages on a clash, registering nothing', async () => {
    app({ one: '1', two: '2' });
    for (const name of ['one', 'two']) {
      pkg(
        join(root, `node_modules/${name}`),
        {
          name,
          exports: { './handlers': './handlers.js' },
          evproc: { 'app.handlers': { [`${name}_only`]: './handlers#a', audit: './handlers#a' } },
        },
        { 'handlers.js': handlerModule({ a: name }) },
      );
    }
    const proc = new Processor();
    proc.register(function mine() {});
    const err = await proc.loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReregisterError);
    expect((err as Error).message).toMatch(
      /"audit" is already registered \(from package "one".*\(now from package "two"/,
    );
    expect(proc.order('x')).toEqual(['mine']);
  });

  it('rejects a bad group with a TypeError', async () => {
    await expect(new Processor().loadFrom('', { root })).rejects.toThrow(TypeError);
  });
});

describe('Processor.loadFrom containment', () => {
  // The evil module records that it ran as soon as it is imported, before any handler is called.
  const EVIL =
    "globalThis.evprocCalls.push('evil module ran');\nexport default function h() {}\nexport function run() {}";

  /** Writes root/evil.mjs (outside every package) and returns its real path. */
  function evil(): string {
    write(join(root, 'evil.mjs'), EVIL);
    return realpathSync(join(root, 'evil.mjs'));
  }

  /** Loads, expects the refusal naming the package, the spec and the path, and checks nothing ran. */
  async function expectRefused(spec: string, path: string): Promise<void> {
    const proc = new Processor();
    const err = await proc.loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvprocError);
    expect((err as EvprocError).code).toBe('EVPROC_OUTSIDE_PACKAGE');
    const message = (err as Error).message;
    expect(message).toContain('Handler "h" of package "plug"');
    expect(message).toContain(`= "${spec}"`);
    expect(message).toContain(`resolves to ${path}`);
    expect(message).toContain(
      `outside the package's folder ${realpathSync(join(root, 'node_modules/plug'))}`,
    );
    expect(message).toMatch(/Point the spec .* at a file inside the package/);
    expect(calls).toEqual([]);
    expect(proc.order('x')).toEqual([]);
  }

  it('refuses a spec that climbs out of a package without exports', async () => {
    const path = evil();
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      evproc: { 'app.handlers': { h: './../../evil.mjs' } },
    });
    await expectRefused('./../../evil.mjs', path);
  });

  it('refuses a "main" outside the package for the spec "."', async () => {
    const path = evil();
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      main: '../../evil.mjs',
      evproc: { 'app.handlers': { h: '.' } },
    });
    await expectRefused('.', path);
  });

  it('refuses an exports target that is a symlink to a file outside the package', async () => {
    const path = evil();
    app({ plug: '1' });
    const dir = join(root, 'node_modules/plug');
    pkg(dir, {
      name: 'plug',
      exports: { './handlers': './handlers.js' },
      evproc: { 'app.handlers': { h: './handlers' } },
    });
    symlinkSync(join(root, 'evil.mjs'), join(dir, 'handlers.js'));
    await expectRefused('./handlers', path);
  });

  it('refuses a file reached through a symlinked folder in a package without exports', async () => {
    const path = evil();
    app({ plug: '1' });
    const dir = join(root, 'node_modules/plug');
    pkg(dir, { name: 'plug', evproc: { 'app.handlers': { h: './lib/evil.mjs' } } });
    symlinkSync(root, join(dir, 'lib'), 'dir');
    await expectRefused('./lib/evil.mjs', path);
  });

  it('refuses an exports target or pattern that climbs out of the package', async () => {
    const path = evil();
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      exports: { './handlers': './../../evil.mjs' },
      evproc: { 'app.handlers': { h: './handlers' } },
    });
    await expectRefused('./handlers', path);

    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      exports: { './*': './*' },
      evproc: { 'app.handlers': { h: './../../evil.mjs' } },
    });
    await expectRefused('./../../evil.mjs', path);
  });

  it('refuses a file: URL or an absolute path as a spec', async () => {
    const path = evil();
    app({ plug: '1' });
    const url = `${pathToFileURL(path).href}#run`;
    pkg(join(root, 'node_modules/plug'), { name: 'plug', evproc: { 'app.handlers': { h: url } } });
    await expectRefused(url, path);

    pkg(join(root, 'node_modules/plug'), { name: 'plug', evproc: { 'app.handlers': { h: path } } });
    await expectRefused(path, path);
  });

  it('refuses percent-encoded .. in a spec, with and without exports', async () => {
    const path = evil();
    app({ plug: '1' });
    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      evproc: { 'app.handlers': { h: './%2e%2e/%2e%2e/evil.mjs' } },
    });
    await expectRefused('./%2e%2e/%2e%2e/evil.mjs', path);

    pkg(join(root, 'node_modules/plug'), {
      name: 'plug',
      exports: { './handlers/*': './lib/*' },
      evproc: { 'app.handlers': { h: './handlers/%2E%2E/%2e%2E/%2e%2e/evil.mjs' } },
    });
    await expectRefused('./handlers/%2E%2E/%2e%2E/%2e%2e/evil.mjs', path);
  });

  it('loads a file symlinked inside its own package, and an absolute spec inside it is still malformed', async () => {
    app({ plug: '1' });
    const dir = join(root, 'node_modules/plug');
    pkg(
      dir,
      {
        name: 'plug',
        exports: { './handlers': './handlers.js' },
        evproc: { 'app.handlers': { h: './handlers#h' } },
      },
      { 'dist/real.js': handlerModule({ h: 'inside' }) },
    );
    symlinkSync(join(dir, 'dist/real.js'), join(dir, 'handlers.js'));
    const proc = new Processor();
    expect(await proc.loadFrom('app.handlers', { root })).toEqual(['h']);
    proc.processSync(new NamedEvent('ev'));
    expect(calls).toEqual(['inside:ev']);

    pkg(dir, { name: 'plug', evproc: { 'app.handlers': { h: join(dir, 'dist/real.js#h') } } });
    const err = await new Processor().loadFrom('app.handlers', { root }).catch((e: unknown) => e);
    expect((err as EvprocError).code).toBe('EVPROC_BAD_FIELD');
  });
});
