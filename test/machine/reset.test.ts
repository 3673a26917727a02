/**
 * A reset rebuilds the devices: what the old ones scheduled (a disk's completion
 * with its DMA, a timer) must not fire into the new boot, while the RTC, which
 * survives a reset, and host input keep theirs.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Machine } from '../../emu/machine/machine.js';
import { ROOT } from '../helpers/emu.js';

describe('reset', () => {
  it('cancels the old devices\' pending events and keeps the RTC\'s and host input\'s', () => {
    const bytes = fs.readFileSync(path.join(ROOT, 'test/guest/bin/hello.elf'));
    const m = new Machine({ ramBytes: 16 << 20, cpus: 1, seed: 0n, kernel: { name: 'hello.elf', bytes } });
    const fired: string[] = [];
    for (const tag of ['virtio-blk@3:request 1', 'lapic0:deadline', 'pit:edge', 'rtc:irq', 'input:41']) {
      m.clock.schedule(m.clock.now + 10, () => fired.push(tag), tag);
    }
    m.reset('test', m.vcpus[0]);
    m.run();
    expect(m.resets).toBe(1);
    expect(fired).toEqual(['rtc:irq', 'input:41']);
  });
});
