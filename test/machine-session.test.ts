/**
 * The library API as the README shows it (the first test is the README's
 * example verbatim), and the behaviour around it: input reaching the guest,
 * timeouts, bad images.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Session, TimeoutError } from '../emu/machine/session.js';

it('boots 4 CPUs and every AP reports', async () => {
  const s = new Session({
    kernel: { name: 'smp.elf', bytes: readFileSync('test/guest/bin/smp.elf') },
    cpus: 4, seed: 1n,
  });
  // Waits at most 1 s of virtual time (1e9 instructions' worth).
  await s.serial.expect(/cpu 3: apic id 3 online in long mode/, { virtualTimeout: 1e9 });
  const stop = await s.runToExit({ virtualTimeout: 10e9 });
  expect(stop).toEqual({ kind: 'exit', status: 1 }); // the guest wrote 0 to port 0xF4
  expect(s.cpus().map((c) => c.apicId)).toEqual([0, 1, 2, 3]);
  // s.serial.send('text') types into COM1; s.cpus() also has run states and counters.
});

describe('Session', () => {
  const hello = (): Session => new Session({ kernel: { name: 'hello.elf', bytes: readFileSync('test/guest/bin/hello.elf') }, append: 'a=b' });

  it('expect consumes output in order and times out in virtual time', async () => {
    const s = hello();
    await s.serial.expect(/hello: /, { virtualTimeout: 1e8 });
    await expect(s.serial.expect(/hello: /, { virtualTimeout: 1e8 })).rejects.toThrow(TimeoutError);
    expect(s.exitStatus).toBe(1);
  });

  it('counts IPIs between CPU pairs and shows APs that were never started', async () => {
    const s = new Session({ kernel: { name: 'smp.elf', bytes: readFileSync('test/guest/bin/smp.elf') }, cpus: 2 });
    expect(s.cpus().map((c) => c.state)).toEqual(['running', 'wait-sipi']);
    await s.runToExit({ virtualTimeout: 10e9 });
    const [bsp, ap] = s.cpus();
    expect(bsp.ipisSent[1]).toBeGreaterThan(0);
    expect(ap.ipisSent[0]).toBeGreaterThan(0);
    expect(ap.interruptsReceived).toBeGreaterThan(0);
  });

  it('refuses an image without a multiboot header with one line naming it', () => {
    expect(() => new Session({ kernel: { name: 'junk.bin', bytes: new Uint8Array(8192) } })).toThrow(/^junk\.bin: .*multiboot/);
  });
});
