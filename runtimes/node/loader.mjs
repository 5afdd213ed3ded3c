// Loading the user's module and choosing the convention its handler follows.
//
// The file is <LAMBDA_CODE_DIR>/<file>.mjs, .cjs or .js (first that exists). Every module is
// loaded with import(): node gives ES modules their exports and CommonJS modules
// `default` = module.exports (plus statically detected named exports).
//
// Auto-detection (LAMBDA_CONVENTION=auto), for LAMBDA_HANDLER=<file>.<function>:
//   1. the module exports a function named <function> (ESM named export, `exports.<function>`
//      or a property of module.exports)            -> AWS Lambda convention
//   2. otherwise, when <function> is `handler` or `default` and the default export
//      (ESM `export default`, or module.exports itself) is a function -> original (Express)
//   3. otherwise -> HandlerLoadError
// LAMBDA_CONVENTION=lambda|original|kubeless skips the guess and takes the named export, falling
// back to the default export (for kubeless this finds what Kubeless runs: a property of
// module.exports named <function>, or module.exports itself when it is a function).

import { existsSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadError } from './common.mjs';
import { makeOriginalInvoker } from './express.mjs';
import { makeKubelessInvoker } from './kubeless.mjs';
import { makeLambdaInvoker } from './lambda.mjs';
import { searchDirs } from './layer_resolve.mjs';

export const EXTENSIONS = ['.mjs', '.cjs', '.js'];
const CONVENTIONS = ['auto', 'original', 'lambda', 'kubeless'];
const INVOKERS = {
  lambda: makeLambdaInvoker,
  kubeless: makeKubelessInvoker,
  original: (fn) => makeOriginalInvoker(fn),
};

function findFile(codeDir, file) {
  for (const ext of EXTENSIONS) {
    const candidate = join(codeDir, file + ext);
    if (existsSync(candidate)) return candidate;
  }
  throw loadError(`cannot find module '${file}' (${EXTENSIONS.join(', ')}) in ${codeDir}`);
}

async function importModule(path, file) {
  // A compiled handler (TypeScript, runtimes/node/driver.py) has its source map beside it:
  // stack traces then name the .ts lines, as `node --enable-source-maps` would.
  if (existsSync(`${path}.map`)) process.setSourceMapsEnabled(true);
  try {
    return await import(pathToFileURL(path).href);
  } catch (err) {
    const where = err instanceof SyntaxError ? ` (${String(err.stack).split('\n', 1)[0]})` : '';
    throw loadError(`unable to import module '${file}': ${err?.name ?? 'Error'}: ${err?.message ?? err}${where}`);
  }
}

function namedExport(ns, name) {
  if (name === 'default') return undefined;
  if (name in ns) return ns[name];
  const exported = ns.default;
  const isContainer = exported !== null && (typeof exported === 'object' || typeof exported === 'function');
  return isContainer && Object.hasOwn(exported, name) ? exported[name] : undefined;
}

// CommonJS compiled from ES syntax (esbuild's TypeScript output, tsc, Babel) keeps an
// `export default` as module.exports.default, flagged __esModule: that is its default export.
function defaultExport(ns) {
  const exported = ns.default;
  if (typeof exported === 'function') return exported;
  return exported?.__esModule && typeof exported.default === 'function' ? exported.default : undefined;
}

function choose(ns, fnName, convention) {
  const named = namedExport(ns, fnName);
  const fallback = defaultExport(ns);
  if (convention !== 'auto') {
    const fn = typeof named === 'function' ? named : fallback;
    return fn && { fn, convention };
  }
  if (typeof named === 'function') return { fn: named, convention: 'lambda' };
  if ((fnName === 'handler' || fnName === 'default') && fallback) {
    return { fn: fallback, convention: 'original' };
  }
  return undefined;
}

/** Load the handler named by cfg.handler: { convention, invoker: (request) => Promise<reply> }. */
// A function with layers: ES-module imports search the layers' node_modules too.
function resolveFromLayers() {
  const dirs = searchDirs(process.env.NODE_PATH);
  if (dirs.length) register('./layer_resolve.mjs', import.meta.url, { data: { dirs } });
}

export async function loadInvoker(cfg) {
  resolveFromLayers();
  if (!CONVENTIONS.includes(cfg.convention)) {
    throw loadError(`LAMBDA_CONVENTION must be one of ${CONVENTIONS.join(', ')}`);
  }
  const dot = cfg.handler.lastIndexOf('.');
  const file = cfg.handler.slice(0, dot);
  const fnName = cfg.handler.slice(dot + 1);
  if (dot <= 0 || !fnName) {
    throw loadError(`handler '${cfg.handler}' must look like file.function (e.g. index.handler)`);
  }
  if (!cfg.codeDir || !existsSync(cfg.codeDir) || !statSync(cfg.codeDir).isDirectory()) {
    throw loadError(`code directory '${cfg.codeDir}' does not exist`);
  }
  const ns = await importModule(findFile(cfg.codeDir, file), file);
  const chosen = choose(ns, fnName, cfg.convention);
  if (!chosen) {
    const found = namedExport(ns, fnName);
    const why = found === undefined ? 'is undefined or not exported' : 'is not a function';
    throw loadError(`${cfg.handler} ${why}`);
  }
  return { convention: chosen.convention, invoker: INVOKERS[chosen.convention](chosen.fn, cfg) };
}
