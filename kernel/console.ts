// COM1 output. The runtime has set the UART up (115200 8N1, FIFOs, no
// interrupts) before kmain; this only polls the line status register.
// Whole lines go out under a spinlock so that CPUs do not interleave them.
// The lock keeps interrupts off while held: otherwise a handler that prints
// (a panic in ktrap), or a thread that ktrap switches to, could spin on its
// own CPU's lock, which the interrupted holder cannot release.

import { cli, inb, outb, pause, read_rflags, sti } from "./hw";

const COM1: u16 = 0x3f8;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const RFLAGS_IF: u64 = 1 << 9;

const lockWord: usize = memory.data(4);
/** Per CPU: whether interrupts were on when this CPU took the lock. */
let lockSavedIf = false;

export function lock(): void {
  const rflags = read_rflags();
  cli();
  while (atomic.cmpxchg<u32>(lockWord, 0, 1) != 0) pause();
  lockSavedIf = (rflags & RFLAGS_IF) != 0;
}

export function unlock(): void {
  atomic.store<u32>(lockWord, 0);
  if (lockSavedIf) sti();
}

export function putc(c: u32): void {
  while ((inb(COM1 + 5) & LSR_THRE) == 0) pause();
  outb(COM1, <u8>c);
}

/** The string's UTF-16 code units, each as one byte: the kernel prints ASCII. */
export function puts(s: string): void {
  for (let i = 0; i < s.length; i++) putc(s.charCodeAt(i));
}

export function putDec(v: u64): void {
  if (v >= 10) putDec(v / 10);
  putc(<u32>(v % 10) + 0x30);
}

export function putHex(v: u64, digits: i32): void {
  for (let i = digits - 1; i >= 0; i--) {
    const d = <u32>(v >> (<u64>i * 4)) & 15;
    putc(d < 10 ? 0x30 + d : 0x57 + d);
  }
}

/** Waits (boundedly) until COM1 has sent everything, so that nothing is lost when the machine stops. */
export function drain(): void {
  for (let i = 0; i < 1000000 && (inb(COM1 + 5) & LSR_TEMT) == 0; i++) pause();
}
