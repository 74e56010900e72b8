// Loader hooks (plain JavaScript: they run on Node's loader thread before any TypeScript support).
// TypeScript files of a project whose package.json does not say "type": "module" would be compiled to
// CommonJS, which gives them a second copy of filefield (another `settings`, another `Model`). They are
// written with `import`/`export` anyway, so they are loaded as ES modules, like the rest of filefield.
const roots = [];

export function initialize(data) {
  roots.push(data.root);
}

export async function load(url, context, nextLoad) {
  if (/\.tsx?$/.test(new URL(url).pathname) && !url.includes('/node_modules/') && roots.some((root) => url.startsWith(root))) {
    return nextLoad(url, { ...context, format: 'module' });
  }
  return nextLoad(url, context);
}
