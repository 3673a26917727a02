#!/usr/bin/env node
import { main } from '../dist/ts2elf.mjs';
process.exitCode = await main(process.argv.slice(2));
