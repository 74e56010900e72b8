/**
 * `import x from 'y'` at the prompt (or in a script or a replayed demo): a REPL input is not a module, so
 * Node refuses static imports; the shell turns each into the dynamic import it stands for
 * (`const { default: x } = await import('y')`), which keeps the names declared from then on. The module
 * is found from the working directory as a file there would find it, a TypeScript file of the project
 * included (projectImport.ts): the rewritten line calls that loader through a hidden global.
 */

/** Where the loader is on the global object: a registered symbol, so no name of the user's can clash. */
const LOADER = Symbol.for('filefield.shell.import');

function installLoader(): void {
  const target = globalThis as Record<symbol, unknown>;
  if (target[LOADER]) return;
  target[LOADER] = async (specifier: string, attributes?: Record<string, string>) => {
    const { importFrom } = await import('./projectImport.ts');
    return importFrom(process.cwd(), specifier, attributes);
  };
}

// import [type] [default][,] [* as ns | { names }] [from] 'module' [with { … }][;]
const STATIC_IMPORT = /^([ \t]*)import(\s+type)?\s+(?:([\p{L}_$][\p{L}\p{N}_$]*)\s*(?:,\s*)?)?(?:\*\s*as\s+([\p{L}_$][\p{L}\p{N}_$]*)|\{([^}]*)\})?\s*(?:from\s*)?(['"])([^'"\n]+)\6(?:\s*(?:with|assert)\s*(\{[^}]*\}))?[ \t]*;?/gmu;

/** `a, b as c, type D` → `a, b: c` (type-only names have nothing to import). */
function destructured(names: string): string[] {
  return names.split(',').map((name) => name.trim()).filter((name) => name && !name.startsWith('type '))
    .map((name) => name.replace(/^(\S+)\s+as\s+(\S+)$/, '$1: $2'));
}

function rewrite(indent: string, typeOnly: boolean, defaultName: string | undefined, namespace: string | undefined, names: string | undefined, module: string, attributes: string | undefined): string {
  if (typeOnly) return indent; // `import type …`: nothing exists at run time
  const call = `await globalThis[Symbol.for(${JSON.stringify(LOADER.description)})](${JSON.stringify(module)}${attributes ? `, ${attributes}` : ''})`;
  if (namespace) return `${indent}const ${namespace} = ${call};${defaultName ? ` const { default: ${defaultName} } = ${namespace};` : ''}`;
  const bindings = [...(defaultName ? [`default: ${defaultName}`] : []), ...(names === undefined ? [] : destructured(names))];
  if (bindings.length === 0) return `${indent}${call};`;
  return `${indent}const { ${bindings.join(', ')} } = ${call};`;
}

/** The input with each static import turned into a dynamic one (the input itself when it has none). */
export function rewriteStaticImports(code: string): string {
  if (!/^\s*import[\s{*'"]/m.test(code)) return code;
  installLoader();
  return code.replace(STATIC_IMPORT, (whole, indent: string, typeOnly: string | undefined, defaultName: string | undefined,
    namespace: string | undefined, names: string | undefined, _quote: string, module: string, attributes: string | undefined) => {
    // `import x` alone, or `import { a }` without a module, is not an import declaration.
    if (!whole.includes(_quote)) return whole;
    return rewrite(indent, Boolean(typeOnly), defaultName, namespace, names, module, attributes);
  });
}
