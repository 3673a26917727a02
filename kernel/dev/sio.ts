// COM1 input (a 16550A; DragonFly's sio driver): the receiver interrupt on
// IRQ 4, routed by the IOAPIC to the BSP. The hard half drains the receive
// FIFO into a ring; the soft half wakes the reader. One reader, on the BSP
// (the monitor). Output stays in console.ts, polled, as DragonFly's
// low-level console is.

import { inb, outb } from "../hw";
import { tsleep, wakeup } from "../kern/kern_synch";
import { crit_enter, crit_exit } from "../kern/lwkt_thread";

const COM1: u16 = 0x3f8;
const IER: u16 = 1;
const MCR: u16 = 4;
const LSR: u16 = 5;
const IER_RDA: u8 = 0x01; // received data available (and, with the FIFO, its timeout)
const MCR_DTR_RTS_OUT2: u8 = 0x0b; // OUT2 gates the UART's interrupt onto the ISA line on a PC
const LSR_DR: u8 = 0x01;

export const IRQ_COM1: u32 = 4;

/** The ring (power of two); bytes beyond a full ring are dropped and counted. */
const RING_BYTES: u32 = 256;
const ring: usize = memory.data(<i32>RING_BYTES);
// Per CPU, but only the BSP takes IRQ 4 and reads: head advances in the hard half, tail in sio_getc.
let ring_head: u32 = 0;
let ring_tail: u32 = 0;
let ring_dropped: u32 = 0;

/*
 * sio_enable: turns on the receiver interrupt. What was typed before stays
 * in the UART's FIFO (up to 16 bytes) and raises the interrupt at once.
 * Context: the BSP, once its IOAPIC pin routes IRQ 4 to it.
 */
export function sio_enable(): void {
  outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
  outb(COM1 + IER, IER_RDA);
}

/*
 * sio_intr: the hard half: every byte the UART holds goes into the ring,
 * which also clears the interrupt (16550 datasheet: reading RBR until LSR.DR
 * is clear ends both the data-available and the timeout interrupt).
 * Context: ktrap, interrupts off.
 */
export function sio_intr(): void {
  while ((inb(COM1 + LSR) & LSR_DR) != 0) {
    const c = inb(COM1);
    if (ring_head - ring_tail == RING_BYTES) {
      ring_dropped++;
      continue;
    }
    store<u8>(ring + <usize>(ring_head & (RING_BYTES - 1)), c);
    ring_head++;
  }
}

/* sio_soft: the soft half: the reader may go on. Context: hard code, critical section. */
export function sio_soft(): void {
  wakeup(<u32>ring);
}

/*
 * sio_getc: the next byte typed on COM1, blocking until there is one.
 * Context: a thread on the BSP.
 */
export function sio_getc(): u8 {
  crit_enter();
  while (ring_head == ring_tail) tsleep(<u32>ring, 0);
  const c = load<u8>(ring + <usize>(ring_tail & (RING_BYTES - 1)));
  ring_tail++;
  crit_exit();
  return c;
}

/*
 * sio_poll: the next byte if one has come, else -1; never blocks.
 * Context: a thread on the BSP.
 */
export function sio_poll(): i32 {
  crit_enter();
  let c: i32 = -1;
  if (ring_head != ring_tail) {
    c = load<u8>(ring + <usize>(ring_tail & (RING_BYTES - 1)));
    ring_tail++;
  }
  crit_exit();
  return c;
}

/* sio_dropped: bytes lost to a full ring. Context: the BSP. */
export function sio_dropped(): u32 {
  return ring_dropped;
}
