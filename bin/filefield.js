#!/usr/bin/env node
// The CLI, compiled to dist/ by `npm run build` (run by `npm install` in a checkout, and before packing).
import '../dist/cli/main.js';
