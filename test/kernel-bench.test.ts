/**
 * The kernel's micro-benchmarks (kernel/kern/kern_bench.ts, `bench=` on the
 * command line; `npm run bench` runs them for figures): each prints its
 * line, and the costs are the guest's own measure (TSC cycles of virtual
 * time), the same for every seed. The IPI round trip to an idle CPU also
 * checks the machine's scheduling: a vCPU running alone that interrupts a
 * halted one ends its solo slice (machine.ts `kicked`), so the round trip
 * costs microseconds of virtual time, not the solo quantum's millisecond.
 */
import { describe, expect, it } from 'vitest';
import { bootKernel, builtKernel } from './helpers/kernel-build.js';

const elf = builtKernel('kernel/main.ts');
const boot = (cpus: number, seed: bigint, append: string): ReturnType<typeof bootKernel> =>
  bootKernel(elf(), { cpus, seed, append, virtualTimeout: 60e9 });

/** The benchmarks' result lines: name → cycles per operation. */
function results(out: string): Map<string, number> {
  return new Map([...out.matchAll(/^bench (\S+): (\d+) ops, (\d+) cycles\/op, (\d+) ns\/op$/gm)].map((m) => [m[1], Number(m[3])]));
}

describe('bench=', () => {
  it('bench=all runs each benchmark between a start line and its result, the same for every seed', async () => {
    const a = await boot(2, 1n, 'bench=all');
    const b = await boot(2, 5n, 'bench=all');
    expect(a.status).toBe(1);
    const r = results(a.out);
    expect([...r.keys()]).toEqual([
      'ipi.roundtrip', 'lwkt.switch', 'msg.domsg_local', 'msg.domsg_remote', 'kmalloc.fast', 'kmalloc.remote_free', 'objcache.getput',
      'token.getrel',
    ]);
    for (const name of r.keys()) expect(a.out).toContain(`bench ${name} start\nbench ${name}: `);
    // Virtual time between one IPI and its answer: microseconds (a millisecond before machine.ts ended solo slices on a kick).
    expect(r.get('ipi.roundtrip')).toBeLessThan(50_000);
    for (const cycles of r.values()) expect(cycles).toBeGreaterThan(0);
    // One CPU's own work takes the same virtual time whatever the interleaving of the others.
    for (const name of ['lwkt.switch', 'msg.domsg_local', 'kmalloc.fast', 'objcache.getput', 'token.getrel']) {
      expect(results(b.out).get(name), name).toBe(r.get(name));
    }
  }, 120_000);

  it('a benchmark that needs two cpus says so on one; an unknown name runs nothing and exits with status 11', async () => {
    const one = await boot(1, 1n, 'bench=ipi.roundtrip,msg.domsg_remote,kmalloc.remote_free');
    for (const name of ['ipi.roundtrip', 'msg.domsg_remote', 'kmalloc.remote_free']) expect(one.out).toContain(`bench ${name}: skipped, it needs two cpus\n`);
    const none = await boot(1, 1n, 'bench=nope');
    expect(none.out).not.toContain('bench ');
    expect(none.out).toContain('bench: no benchmark named nope (there are: ipi.roundtrip lwkt.switch msg.domsg_local msg.domsg_remote' +
      ' kmalloc.fast kmalloc.remote_free objcache.getput token.getrel)\n');
    expect(none.status).toBe(11);
  }, 120_000);
});
