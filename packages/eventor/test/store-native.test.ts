import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDistIsCurrent } from './helpers/child.js';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const requireHere = createRequire(join(PACKAGE_ROOT, 'package.json'));
const betterSqlite = dirname(requireHere.resolve('better-sqlite3/package.json'));
const requireInBetterSqlite = createRequire(join(betterSqlite, 'package.json'));

/**
 * A project as a user's install leaves it when better-sqlite3's build was skipped: the built
 * @flow/eventor and better-sqlite3's JavaScript are copies (so module resolution stays inside the
 * project), without better-sqlite3's build folder; its pure-JS dependencies are linked.
 */
function projectWithoutNativeBuild(root: string): string {
  const modules = join(root, 'node_modules');
  const eventor = join(modules, '@flow', 'eventor');
  mkdirSync(eventor, { recursive: true });
  for (const entry of ['package.json', 'dist', 'drizzle'])
    cpSync(join(PACKAGE_ROOT, entry), join(eventor, entry), { recursive: true });
  const sqlite = join(modules, 'better-sqlite3');
  mkdirSync(sqlite);
  for (const entry of ['package.json', 'lib'])
    cpSync(join(betterSqlite, entry), join(sqlite, entry), { recursive: true });
  symlinkSync(
    realpathSync(join(PACKAGE_ROOT, 'node_modules', 'drizzle-orm')),
    join(modules, 'drizzle-orm'),
    'dir',
  );
  const bindings = dirname(requireInBetterSqlite.resolve('bindings/package.json'));
  symlinkSync(realpathSync(bindings), join(modules, 'bindings'), 'dir');
  writeFileSync(
    join(root, 'package.json'),
    '{ "name": "user-project", "private": true, "type": "module" }\n',
  );
  writeFileSync(
    join(root, 'open.mjs'),
    `import { Eventor } from '@flow/eventor';
try {
  new Eventor({ name: 'native', store: process.argv[2], logLevel: 'silent' });
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, cause: error.cause?.message }));
}
`,
  );
  return sqlite;
}

function openStore(root: string): {
  name?: string;
  code?: string;
  message?: string;
  cause?: string;
  opened?: boolean;
} {
  const out = execFileSync(process.execPath, ['open.mjs', join(root, 'store', 'native.run.db')], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

describe('store open without a usable better-sqlite3 native module', () => {
  let root: string;
  let sqlite: string;
  beforeAll(() => {
    assertDistIsCurrent();
    root = mkdtempSync(join(tmpdir(), 'eventor-native-'));
    mkdirSync(join(root, 'store'));
    sqlite = projectWithoutNativeBuild(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('says the native build is missing and gives the commands that build it, when the bindings file is not there', () => {
    const error = openStore(root);
    expect(error.cause).toContain('Could not locate the bindings file');
    expect(error.name).toBe('StoreError');
    expect(error.code).toBe('FLOW_STORE_NATIVE');
    expect(error.message).toContain("better-sqlite3's native module is missing");
    expect(error.message).toContain(join(sqlite, 'build'));
    expect(error.message).toContain('`pnpm approve-builds better-sqlite3`');
    expect(error.message).toContain('`pnpm rebuild better-sqlite3`');
    expect(error.message).toContain('"allowScripts": { "better-sqlite3": true }');
    expect(error.message).toContain('npm rebuild better-sqlite3');
    expect(error.message).toContain('npm_config_nodedir');
    expect(error.message).not.toContain('writable');
  });

  it('says the native module was built for another Node, when it cannot be loaded (ERR_DLOPEN_FAILED)', () => {
    const release = join(sqlite, 'build', 'Release');
    mkdirSync(release, { recursive: true });
    writeFileSync(join(release, 'better_sqlite3.node'), 'not a shared object');
    try {
      const error = openStore(root);
      expect(error.cause).toContain('better_sqlite3.node');
      expect(error.code).toBe('FLOW_STORE_NATIVE');
      expect(error.message).toContain("better-sqlite3's native module was built for another Node.js");
      expect(error.message).toContain(process.version);
      expect(error.message).toContain('`pnpm rebuild better-sqlite3` or `npm rebuild better-sqlite3`');
      expect(error.message).not.toContain('writable');
    } finally {
      rmSync(join(sqlite, 'build'), { recursive: true, force: true });
    }
  });

  it('still blames the path when the native module loads and the folder is missing', () => {
    const release = join(sqlite, 'build', 'Release');
    mkdirSync(release, { recursive: true });
    cpSync(
      join(betterSqlite, 'build', 'Release', 'better_sqlite3.node'),
      join(release, 'better_sqlite3.node'),
    );
    try {
      const out = execFileSync(process.execPath, ['open.mjs', join(root, 'absent', 'native.run.db')], {
        cwd: root,
        encoding: 'utf8',
      });
      const error = JSON.parse(out);
      expect(error.code).toBe('FLOW_STORE_OPEN');
      expect(error.message).toContain('Check that the folder exists and is writable');
    } finally {
      rmSync(join(sqlite, 'build'), { recursive: true, force: true });
    }
  });
});
