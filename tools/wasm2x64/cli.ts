/** `wasm2x64 IN.wasm -o OUT`: the linux-user ELF; errors are one line and status 1. */
import * as fs from 'node:fs';
import { compileLinuxUser } from './linux-user.js';

const args = process.argv.slice(2);
const o = args.indexOf('-o');
if (o < 0 || args.length !== 3) {
  process.stderr.write('usage: wasm2x64 IN.wasm -o OUT\n');
  process.exit(2);
}
const out = args[o + 1];
const input = args.find((_, i) => i !== o && i !== o + 1)!;
try {
  fs.writeFileSync(out, compileLinuxUser(fs.readFileSync(input)), { mode: 0o755 });
} catch (e) {
  process.stderr.write(`wasm2x64: ${(e as Error).message.split('\n')[0]}\n`);
  process.exit(1);
}
