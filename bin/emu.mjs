#!/usr/bin/env node
import { main } from '../dist/emu.mjs';
main(process.argv.slice(2));
