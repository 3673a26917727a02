/**
 * The linux-user target: one module that imports only `sys.write` and
 * `sys.exit` (test/fixtures/as/README.md) and exports `_start`, compiled
 * with the runtime into a static ELF. Start-up instantiates the module
 * (which runs its start function), calls `_start`, and exits with 0 if it
 * returns.
 */
import { assemble } from '../asm/index.js';
import { compileModule, type Extern, TypeIds } from './codegen/module.js';
import { runtime } from './codegen/runtime.js';
import { linuxElf, ORIGIN } from './elf/writer.js';
import { parseModule } from './wasm/index.js';

const SYS: Record<string, Extern> = {
  write: { kind: 'func', label: '__sys_write', type: { params: [0x7f, 0x7f, 0x7f], results: [0x7f] } },
  exit: { kind: 'func', label: '__sys_exit', type: { params: [0x7f], results: [] } },
};

export function compileLinuxUser(wasm: Uint8Array): Uint8Array {
  const m = parseModule(wasm);
  const c = compileModule(m, 'M0_', (mod, name) => (mod === 'sys' ? SYS[name] ?? null : null), new TypeIds());
  const start = c.exports.get('_start');
  if (!start || start.kind !== 'func') throw new Error('the module exports no _start function');
  const src = `.intel_syntax noprefix
${runtime('__main')}
  .text
__main:
  call ${c.instantiate}
  call ${start.label}
  ret
${c.text}
  .data
${c.data}
`;
  return linuxElf(assemble(src, { origin: ORIGIN, file: 'linux-user.s' }));
}
