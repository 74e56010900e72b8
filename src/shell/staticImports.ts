/**
 * `import x from 'y'` at the prompt (or in a script or a replayed demo): a REPL input is not a module, so
 * Node refuses static imports; the shell turns each into the dynamic import it stands for
 * (`const { default: x } = await import('y')`), which keeps the names declared from then on. A relative
 * module is the file relative to the working directory, as the prompt's other paths are.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// import [type] [default][,] [* as ns | { names }] [from] 'module' [with { … }][;]
const STATIC_IMPORT = /^([ \t]*)import(\s+type)?\s+(?:([\p{L}_$][\p{L}\p{N}_$]*)\s*(?:,\s*)?)?(?:\*\s*as\s+([\p{L}_$][\p{L}\p{N}_$]*)|\{([^}]*)\})?\s*(?:from\s*)?(['"])([^'"\n]+)\6(?:\s*(?:with|assert)\s*(\{[^}]*\}))?[ \t]*;?/gmu;

function specifierFor(module: string): string {
  return module.startsWith('./') || module.startsWith('../') ? pathToFileURL(resolve(module)).href : module;
}

/** `a, b as c, type D` → `a, b: c` (type-only names have nothing to import). */
function destructured(names: string): string[] {
  return names.split(',').map((name) => name.trim()).filter((name) => name && !name.startsWith('type '))
    .map((name) => name.replace(/^(\S+)\s+as\s+(\S+)$/, '$1: $2'));
}

function rewrite(indent: string, typeOnly: boolean, defaultName: string | undefined, namespace: string | undefined, names: string | undefined, module: string, attributes: string | undefined): string {
  if (typeOnly) return indent; // `import type …`: nothing exists at run time
  const call = `await import(${JSON.stringify(specifierFor(module))}${attributes ? `, { with: ${attributes} }` : ''})`;
  if (namespace) return `${indent}const ${namespace} = ${call};${defaultName ? ` const { default: ${defaultName} } = ${namespace};` : ''}`;
  const bindings = [...(defaultName ? [`default: ${defaultName}`] : []), ...(names === undefined ? [] : destructured(names))];
  if (bindings.length === 0) return `${indent}${call};`;
  return `${indent}const { ${bindings.join(', ')} } = ${call};`;
}

/** The input with each static import turned into a dynamic one (the input itself when it has none). */
export function rewriteStaticImports(code: string): string {
  if (!/^\s*import[\s{*'"]/m.test(code)) return code;
  return code.replace(STATIC_IMPORT, (whole, indent: string, typeOnly: string | undefined, defaultName: string | undefined,
    namespace: string | undefined, names: string | undefined, _quote: string, module: string, attributes: string | undefined) => {
    // `import x` alone, or `import { a }` without a module, is not an import declaration.
    if (!whole.includes(_quote)) return whole;
    return rewrite(indent, Boolean(typeOnly), defaultName, namespace, names, module, attributes);
  });
}
