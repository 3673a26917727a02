#!/usr/bin/env node
import { main } from '../dist/asm.mjs';
process.exitCode = main(process.argv.slice(2));
