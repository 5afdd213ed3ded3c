// Module customization hooks (node:module register): ES-module `import 'pkg'` finds packages in
// the layers' node_modules, as Lambda's Node.js 18+ runtimes resolve them. `require` already
// searches NODE_PATH; ES-module resolution ignores it, so a bare specifier the default
// resolution cannot find is tried again from inside each NODE_PATH directory, in order.
// Registered by loader.mjs only when NODE_PATH is set (a function with layers).

import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let parents = [];

export function initialize({ dirs }) {
  // A module "inside" each directory: resolving from it walks up through that directory.
  parents = dirs.filter(Boolean).map((dir) => pathToFileURL(join(dir, 'index.js')).href);
}

const isBare = (specifier) => !/^(\.{0,2}\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier)) throw err;
    for (const parentURL of parents) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch (again) {
        if (again?.code !== 'ERR_MODULE_NOT_FOUND') throw again;
      }
    }
    throw err;
  }
}

export const searchDirs = (nodePath) => (nodePath || '').split(delimiter).filter(Boolean);
