#!/usr/bin/env node
// The CLI and the server run TypeScript sources directly: tsx's loader is registered before anything else,
// so plugins and cozy.config.ts can be TypeScript too.
import 'reflect-metadata';
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
