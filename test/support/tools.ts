// The servers and tools only the tests use (azurite, s3rver, node-pty, playwright-core) are a package of their
// own, test/tools, kept out of filefield's devDependencies: a git install of filefield installs those to build
// it, and should not fetch emulators and a browser driver. Loaded from there (their types too: `import type` from test/tools/node_modules/…).
import { createRequire } from 'node:module';

export const requireTool = createRequire(new URL('../tools/package.json', import.meta.url));
