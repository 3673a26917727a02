/**
 * isa-debug-exit as QEMU implements it: status (v << 1) | 1 for writes of
 * every width anywhere in its window, and reads of 0.
 */
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../emu/machine/bus.js';
import { DebugExit } from '../../emu/machine/debug-exit.js';

function setup(): { bus: PortBus; exits: number[] } {
  const exits: number[] = [];
  const bus = new PortBus(() => {});
  new DebugExit((s) => exits.push(s)).register(bus);
  return { bus, exits };
}

describe('debug-exit', () => {
  it('exits with (v << 1) | 1 for byte, word and dword writes', () => {
    const { bus, exits } = setup();
    bus.write(0xf4, 1, 0);
    bus.write(0xf4, 1, 0x10);
    bus.write(0xf4, 2, 0x1234);
    bus.write(0xf4, 4, 0x7fffffff);
    expect(exits).toEqual([1, 0x21, 0x2469, 0xffffffff]);
  });

  it('uses only the bytes of the written width and the low 32 bits of the status', () => {
    const { bus, exits } = setup();
    bus.write(0xf4, 1, 0x1ff);
    bus.write(0xf4, 4, 0x80000001);
    expect(exits).toEqual([0x1ff, 3]);
  });

  it('claims the whole 4-byte window and reads as 0', () => {
    const { bus, exits } = setup();
    bus.write(0xf7, 1, 2);
    expect(exits).toEqual([5]);
    expect(bus.read(0xf4, 4)).toBe(0);
    expect(bus.read(0xf5, 1)).toBe(0);
  });
});
