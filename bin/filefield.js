#!/usr/bin/env node
// The CLI is TypeScript; tsx's loader lets Node run it (and the project's TypeScript settings and models).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
