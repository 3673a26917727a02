/**
 * QEMU's isa-debug-exit device (hw/misc/debugexit.c), placed at 0xF4 with a
 * 4-byte window as kvm-unit-tests expects (`iobase=0xf4,iosize=4`): a write
 * of v, of any width, ends the emulator with status (v << 1) | 1, so a guest
 * can never report a plain 0. Reads return 0, as in current QEMU.
 */
import type { PortBus, PortDevice, Size } from './bus.js';

export const DEBUG_EXIT_PORT = 0xf4;

const WIDTH_MASK: Record<Size, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class DebugExit implements PortDevice {
  constructor(private readonly exit: (status: number) => void) {}

  register(bus: PortBus): void { bus.register(DEBUG_EXIT_PORT, 4, this); }

  portRead(): number { return 0; }

  /** QEMU computes the status in 64 bits and passes it to exit(int): the low 32 bits survive. */
  portWrite(_port: number, size: Size, value: number): void {
    this.exit((((value & WIDTH_MASK[size]) << 1) | 1) >>> 0);
  }
}
