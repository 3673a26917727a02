#!/usr/bin/env node
import { main } from '../dist/mkdisk.mjs';
process.exitCode = main(process.argv.slice(2));
