/**
 * References, tables and passive segments, as an operator family.
 *
 * A reference is one 64-bit value; null is 0 for both types. A funcref points
 * at its function's descriptor {code address, type id} (quads, in the data
 * of the module that named the function), which is everything call_indirect
 * needs; an externref is whatever the host passed. A table is the object
 * {entries, size, max} (quads): `entries` is an array of references
 * reserved by the runtime up to `max` elements, so it never moves and
 * table.grow only commits and fills. An element or data segment is the
 * object {address, length}; dropping it sets the length to 0, which is
 * exactly how the spec treats a dropped segment (only empty accesses at
 * offset 0 succeed). Active and declarative segments start out dropped.
 *
 * Operands are i32 with a junk high half until zero-extended; every range
 * check is done in 64 bits, where index + count cannot wrap.
 */
import { type Instr, Op } from '../wasm/index.js';
import { type Gp, type OpContext, r32, r8 } from './context.js';
import type { Family } from './families.js';
import { Trap } from './ops.js';

/** Traps unless start + count <= the length quad at `limit`; `t` is scratch. */
const checkRange = (c: OpContext, start: Gp, count: Gp, limit: string, t: Gp, kind: Trap): void => {
  c.emit(`lea ${t}, [${start}+${count}]`);
  c.emit(`cmp ${t}, qword ptr [rip+${limit}]`);
  c.emit(`ja ${c.trap(kind)}`);
};

/**
 * Pops [d, s, n] for a copy of n `unit`-byte elements from source s to
 * destination d, checks both ranges whole before anything moves, and
 * returns rdi, rsi and rcx ready for rep movs (owned by the caller). A null
 * destination is memory in the 'direct' mode: addresses as they are,
 * unchecked like every other access there.
 */
const copyOperands = (c: OpContext, dst: string | null, src: string, unit: 1 | 8, kind: Trap): Gp[] => {
  const n = c.popGp('rcx'), s = c.popGp('rsi'), d = c.popGp('rdi');
  const t = c.tmpGp();
  if (dst) checkRange(c, d, n, `${dst}+8`, t, kind);
  checkRange(c, s, n, `${src}+8`, t, kind);
  const scale = unit === 8 ? '*8' : '';
  if (dst) {
    c.emit(`mov ${t}, qword ptr [rip+${dst}]`);
    c.emit(`lea ${d}, [${t}+${d}${scale}]`);
  }
  c.emit(`mov ${t}, qword ptr [rip+${src}]`);
  c.emit(`lea ${s}, [${t}+${s}${scale}]`);
  c.free(t);
  return [d, s, n];
};

const movs = (c: OpContext, unit: 1 | 8, overlapping: boolean): void => {
  const op = unit === 8 ? 'rep movsq' : 'rep movsb';
  if (!overlapping) {
    c.emit(op);
    return;
  }
  // The destination may overlap above the source: then copy from the top down.
  const fwd = c.fresh(), done = c.fresh();
  c.emit('cmp rdi, rsi');
  c.emit(`jbe ${fwd}`);
  c.emit(`lea rdi, [rdi+rcx*${unit}-${unit}]`);
  c.emit(`lea rsi, [rsi+rcx*${unit}-${unit}]`);
  c.emit('std');
  c.emit(op);
  c.emit('cld');
  c.emit(`jmp ${done}`);
  c.label(fwd);
  c.emit(op);
  c.label(done);
};

const freeAll = (c: OpContext, ...rs: Gp[]): void => { for (const r of rs) c.free(r); };

export const tables: Family = (ins: Instr, c: OpContext): boolean => {
  const env = c.env;
  switch (ins.op) {
    case Op.RefNull: {
      const r = c.tmpGp();
      c.emit(`xor ${r32(r)}, ${r32(r)}`);
      c.pushGp(r);
      return true;
    }
    case Op.RefIsNull: {
      const r = c.popGp();
      c.emit(`test ${r}, ${r}`);
      c.emit(`sete ${r8(r)}`);
      c.emit(`movzx ${r32(r)}, ${r8(r)}`);
      c.pushGp(r);
      return true;
    }
    case Op.RefFunc: {
      const r = c.tmpGp();
      c.emit(`lea ${r}, [rip+${env.funcRef(ins.func)}]`);
      c.pushGp(r);
      return true;
    }
    case Op.TableGet: case Op.TableSet: {
      const T = env.tableObj(ins.table);
      const v = ins.op === Op.TableSet ? c.popGp() : null;
      const i = c.popGp();
      c.emit(`cmp ${i}, qword ptr [rip+${T}+8]`);
      c.emit(`jae ${c.trap(Trap.TableOutOfBounds)}`);
      const b = c.tmpGp();
      c.emit(`mov ${b}, qword ptr [rip+${T}]`);
      if (v) {
        c.emit(`mov qword ptr [${b}+${i}*8], ${v}`);
        freeAll(c, v, i, b);
      } else {
        c.emit(`mov ${i}, qword ptr [${b}+${i}*8]`);
        c.free(b);
        c.pushGp(i);
      }
      return true;
    }
    case Op.TableSize: {
      const r = c.tmpGp();
      c.emit(`mov ${r}, qword ptr [rip+${env.tableObj(ins.table)}+8]`);
      c.pushGp(r);
      return true;
    }
    case Op.TableGrow: {
      // __table_grow preserves every register but rax.
      const n = c.popGp('rsi'), v = c.popGp('rdx'), o = c.tmpGp('rdi'), r = c.tmpGp('rax');
      c.emit(`lea rdi, [rip+${env.tableObj(ins.table)}]`);
      c.emit('call __table_grow');
      freeAll(c, n, v, o);
      c.pushGp(r);
      return true;
    }
    case Op.TableFill: {
      const T = env.tableObj(ins.table);
      const n = c.popGp('rcx'), v = c.popGp('rax'), i = c.popGp('rdi');
      const t = c.tmpGp();
      checkRange(c, i, n, `${T}+8`, t, Trap.TableOutOfBounds);
      c.emit(`mov ${t}, qword ptr [rip+${T}]`);
      c.emit(`lea rdi, [${t}+rdi*8]`);
      c.emit('rep stosq');
      freeAll(c, n, v, i, t);
      return true;
    }
    case Op.TableCopy: {
      // Two table indices are one table when both import the same export.
      const D = env.tableObj(ins.dst), S = env.tableObj(ins.src);
      const rs = copyOperands(c, D, S, 8, Trap.TableOutOfBounds);
      movs(c, 8, D === S);
      freeAll(c, ...rs);
      return true;
    }
    case Op.TableInit: {
      const rs = copyOperands(c, env.tableObj(ins.table), env.elemSeg(ins.elem), 8, Trap.TableOutOfBounds);
      movs(c, 8, false);
      freeAll(c, ...rs);
      return true;
    }
    case Op.MemoryInit: {
      if (!env.memory) throw new Error('memory.init without memory (validation lets none through)');
      const rs = copyOperands(c, env.memoryMode === 'checked' ? env.memory : null, env.dataSeg(ins.data), 1, Trap.OutOfBounds);
      movs(c, 1, false);
      freeAll(c, ...rs);
      return true;
    }
    case Op.ElemDrop:
      c.emit(`mov qword ptr [rip+${env.elemSeg(ins.elem)}+8], 0`);
      return true;
    case Op.DataDrop:
      c.emit(`mov qword ptr [rip+${env.dataSeg(ins.data)}+8], 0`);
      return true;
    default:
      return false;
  }
};
