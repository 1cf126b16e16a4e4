import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeValue, EvprocError } from './errors.js';
import type { Logger } from './types.js';

/** A handler found by `loadFrom`, ready to register. */
export interface LoadedHandler {
  readonly name: string;
  readonly handler: (...args: never[]) => unknown;
  /** Where it came from, for error messages: package, group, handler, specifier. */
  readonly source: string;
}

interface PackageJson {
  name?: unknown;
  main?: unknown;
  exports?: unknown;
  dependencies?: unknown;
  optionalDependencies?: unknown;
  evproc?: unknown;
}

// The conditions Node's ESM loader matches for `import()`, in the order it tries them.
const CONDITIONS = new Set(['node', 'import', 'default']);

function readPackageJson(path: string, what: string): PackageJson {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EvprocError(`Cannot read ${what} at ${path}: check the path (loadFrom's root option)`, {
      code: 'EVPROC_PACKAGE_JSON',
      cause: err,
    });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not a JSON object');
    return parsed as PackageJson;
  } catch (err) {
    throw new EvprocError(`${what} at ${path} is not a valid JSON object: fix its syntax`, {
      code: 'EVPROC_PACKAGE_JSON',
      cause: err,
    });
  }
}

function dependencyNames(field: unknown): string[] {
  return typeof field === 'object' && field !== null ? Object.keys(field) : [];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds a dependency's package.json as Node would from `root`: through `require.resolve` (which
 * follows pnpm's symlinks), or, for packages whose `exports` hide ./package.json, by walking the
 * node_modules folders from `root` upwards.
 */
function locatePackage(pkg: string, root: string): string | undefined {
  const require = createRequire(join(root, 'package.json'));
  try {
    return require.resolve(`${pkg}/package.json`);
  } catch {
    // Not exported or not found: fall through to the walk.
  }
  for (let dir = root; ; ) {
    const candidate = join(dir, 'node_modules', ...pkg.split('/'), 'package.json');
    if (existsSync(candidate)) return realpathSync(candidate);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Resolves one `exports` target for the `import` conditions; `undefined` if nothing matches. */
function resolveTarget(target: unknown, star: string | undefined): string | null | undefined {
  if (typeof target === 'string') {
    if (!target.startsWith('./')) return undefined;
    return star === undefined ? target : target.replaceAll('*', star);
  }
  if (target === null) return null;
  if (Array.isArray(target)) {
    for (const t of target) {
      const resolved = resolveTarget(t, star);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  if (typeof target === 'object') {
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.has(condition)) continue;
      const resolved = resolveTarget(value, star);
      if (resolved !== undefined) return resolved;
    }
  }
  return undefined;
}

// Specifiers, `main` and `exports` targets are URL paths, as in Node: `%2e%2e` means `..`.
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Who asked for a file, for the containment check's message. */
interface SpecOwner {
  readonly name: string;
  readonly source: string;
  /** The package's folder, symlinks resolved. */
  readonly pkgDir: string;
}

/**
 * The one containment check: `file` (however the spec named it) must lie inside the package's real
 * folder, as written and with symlinks resolved. Returns the real path, the one to import, or `file`
 * as written when it does not exist (reported as missing by the caller).
 */
function insidePackage(owner: SpecOwner, file: string): string {
  let real = file;
  if (file.startsWith(owner.pkgDir + sep)) {
    try {
      real = realpathSync(file);
    } catch {
      return file;
    }
    if (real.startsWith(owner.pkgDir + sep)) return real;
  }
  throw new EvprocError(
    `Handler "${owner.name}" of ${owner.source} resolves to ${real}` +
      `${real === file ? '' : ` (through the symlink ${file})`}, outside the package's folder ` +
      `${owner.pkgDir}: a plugin may load only its own files. Point the spec (and the package's ` +
      '"exports" or "main") at a file inside the package, e.g. "./handlers#h" with ' +
      '"exports": { "./handlers": "./handlers.js" }, and do not symlink it to a file elsewhere',
    { code: 'EVPROC_OUTSIDE_PACKAGE' },
  );
}

/** The file an absolute path or `file:` URL spec names; `undefined` for anything else. */
function pathNamedBy(spec: string): string | undefined {
  const hash = spec.indexOf('#');
  const specifier = hash < 0 ? spec : spec.slice(0, hash);
  if (specifier.startsWith('file:')) {
    try {
      return fileURLToPath(specifier);
    } catch {
      return undefined;
    }
  }
  return isAbsolute(specifier) ? specifier : undefined;
}

/**
 * Resolves a package's own subpath (`.` or `./x`) to a file through its `exports` map, with the
 * conditions `import()` uses (node, import, default); packages without `exports` map it to a file.
 */
function resolveSubpath(pkgDir: string, pkgJson: PackageJson, subpath: string): string | undefined {
  const { exports } = pkgJson;
  if (exports === undefined) {
    const main = typeof pkgJson.main === 'string' ? pkgJson.main : 'index.js';
    const base = join(pkgDir, decodePath(subpath === '.' ? main : subpath));
    return [base, `${base}.js`, `${base}.mjs`, join(base, 'index.js')].find(isFile);
  }
  const map =
    typeof exports === 'object' && exports !== null && !Array.isArray(exports)
      ? Object.keys(exports).some((k) => k.startsWith('.'))
        ? (exports as Record<string, unknown>)
        : { '.': exports }
      : { '.': exports };
  let target: string | null | undefined;
  if (Object.hasOwn(map, subpath)) target = resolveTarget(map[subpath], undefined);
  else {
    // Patterns like "./handlers/*": the longest matching prefix wins, as in Node.
    let best: { key: string; star: string } | undefined;
    for (const key of Object.keys(map)) {
      const at = key.indexOf('*');
      if (at < 0) continue;
      const prefix = key.slice(0, at);
      const suffix = key.slice(at + 1);
      if (subpath.length >= key.length && subpath.startsWith(prefix) && subpath.endsWith(suffix)) {
        if (best === undefined || prefix.length > best.key.indexOf('*')) {
          best = { key, star: subpath.slice(prefix.length, subpath.length - suffix.length) };
        }
      }
    }
    if (best !== undefined) target = resolveTarget(map[best.key], best.star);
  }
  if (typeof target !== 'string') return undefined;
  return resolve(pkgDir, decodePath(target));
}

function parseSpec(spec: string): { specifier: string; exportName: string } | undefined {
  const hash = spec.indexOf('#');
  const specifier = hash < 0 ? spec : spec.slice(0, hash);
  const exportName = hash < 0 ? 'default' : spec.slice(hash + 1);
  if (!(specifier === '.' || specifier.startsWith('./')) || exportName === '') return undefined;
  return { specifier, exportName };
}

/**
 * Finds and imports the handlers that `root`'s dependencies declare for `group` in the `evproc`
 * field of their package.json. Packages and handler names come in sorted order.
 */
export async function loadHandlers(
  group: string,
  rootDir: string,
  logger?: Logger,
): Promise<LoadedHandler[]> {
  if (typeof group !== 'string' || group === '') {
    throw new TypeError(
      `loadFrom() takes a non-empty group name, e.g. 'app.handlers', got ${describeValue(group)}`,
    );
  }
  if (typeof rootDir !== 'string' || rootDir === '') {
    throw new TypeError(`loadFrom() option root must be a folder path, got ${describeValue(rootDir)}`);
  }
  const root = resolve(rootDir);
  const rootJsonPath = join(root, 'package.json');
  const rootJson = readPackageJson(rootJsonPath, "the application's package.json");
  const optional = new Set(dependencyNames(rootJson.optionalDependencies));
  const packages = [...new Set([...dependencyNames(rootJson.dependencies), ...optional])].sort();

  const loaded: LoadedHandler[] = [];
  for (const pkg of packages) {
    const pkgJsonPath = locatePackage(pkg, root);
    if (pkgJsonPath === undefined) {
      if (optional.has(pkg)) {
        logger?.debug({ package: pkg, group }, `optional dependency "${pkg}" is not installed; skipped`);
        continue;
      }
      throw new EvprocError(
        `Package "${pkg}" is a dependency in ${rootJsonPath} but cannot be found from ${root}: ` +
          'install it (pnpm install), or remove it from dependencies',
        { code: 'EVPROC_PACKAGE_NOT_FOUND' },
      );
    }
    const pkgDir = realpathSync(dirname(pkgJsonPath));
    const pkgJson = readPackageJson(pkgJsonPath, `the package.json of "${pkg}"`);
    const field = pkgJson.evproc;
    if (field === undefined) continue;
    const handlers =
      typeof field === 'object' && field !== null ? (field as Record<string, unknown>)[group] : null;
    if (handlers === undefined) continue;
    if (
      typeof handlers !== 'object' ||
      handlers === null ||
      Array.isArray(handlers) ||
      Object.values(handlers).some((v) => typeof v !== 'string')
    ) {
      throw new EvprocError(
        `Package "${pkg}" has a malformed "evproc" field for group "${group}" in ${pkgJsonPath}: expected ` +
          `{ "evproc": { "${group}": { "<handler name>": "./<subpath>#<export>" } } }, ` +
          `e.g. { "evproc": { "${group}": { "audit_log": "./handlers#auditLog" } } }`,
        { code: 'EVPROC_BAD_FIELD' },
      );
    }
    for (const name of Object.keys(handlers).sort()) {
      const spec = (handlers as Record<string, string>)[name]!;
      const source = `package "${pkg}" (evproc["${group}"]["${name}"] = "${spec}")`;
      const owner: SpecOwner = { name, source, pkgDir };
      const parsed = parseSpec(spec);
      if (parsed === undefined) {
        const named = pathNamedBy(spec);
        if (named !== undefined) insidePackage(owner, named);
        throw new EvprocError(
          `Handler "${name}" of ${source} is not "<specifier>#<export>": the specifier must be the ` +
            `package's own subpath export, e.g. "./handlers#${name}" (export defaults to "default")`,
          { code: 'EVPROC_BAD_FIELD' },
        );
      }
      const resolved = resolveSubpath(pkgDir, pkgJson, parsed.specifier);
      if (resolved === undefined) {
        throw new EvprocError(
          `Handler "${name}" of ${source}: "${parsed.specifier}" is not exported by "${pkg}" ` +
            `(${pkgJsonPath}); add it to "exports", e.g. "exports": { "${parsed.specifier}": ` +
            `"${parsed.specifier === '.' ? './index.js' : `${parsed.specifier}.js`}" }`,
          { code: 'EVPROC_MODULE_NOT_FOUND' },
        );
      }
      const file = insidePackage(owner, resolved);
      if (!isFile(file)) {
        throw new EvprocError(
          `Handler "${name}" of ${source}: "${pkg}${parsed.specifier.slice(1)}" resolves to ${file}, ` +
            'which does not exist; build the package, or fix its "exports"',
          { code: 'EVPROC_MODULE_NOT_FOUND' },
        );
      }
      let mod: Record<string, unknown>;
      try {
        mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      } catch (err) {
        throw new EvprocError(
          `Handler "${name}" of ${source}: importing ${file} failed: ${err instanceof Error ? err.message : String(err)}`,
          { code: 'EVPROC_IMPORT_FAILED', cause: err },
        );
      }
      const handler = mod[parsed.exportName];
      if (handler === undefined) {
        const available = Object.keys(mod).sort();
        throw new EvprocError(
          `Handler "${name}" of ${source}: "${pkg}${parsed.specifier.slice(1)}" has no export ` +
            `"${parsed.exportName}" (it exports ${available.length ? available.map((a) => `"${a}"`).join(', ') : 'nothing'}); ` +
            `export the handler under that name or fix the "#${parsed.exportName}" part`,
          { code: 'EVPROC_EXPORT_NOT_FOUND' },
        );
      }
      if (typeof handler !== 'function') {
        throw new EvprocError(
          `Handler "${name}" of ${source}: export "${parsed.exportName}" is ${describeValue(handler)}, not a function`,
          { code: 'EVPROC_NOT_A_HANDLER' },
        );
      }
      logger?.debug({ package: pkg, group, handler: name, file }, `found handler "${name}" in "${pkg}"`);
      loaded.push({ name, handler: handler as LoadedHandler['handler'], source });
    }
  }
  return loaded;
}
