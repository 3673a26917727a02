/**
 * The kernel's mechanisms on every CPU: kernel/main.ts booted with
 * `selftest=all` on the command line runs every group of self-tests
 * (kernel/kern/*_selftest.ts, kernel/arch/x86_64/*_selftest.ts: LWKT, IPI
 * messaging, cpusync, SYSTIMERS, tsleep/wakeup, serializing tokens, message
 * ports, kmalloc and objcache, pmap) on each CPU at once
 * (the IPI storm among them: thousands of IPIs between every pair of CPUs
 * through 4-entry FIFOs, checked by sequence numbers; the message storm:
 * requests from every CPU to a thread port on every CPU and their replies,
 * checked the same way; a kmalloc storm of every CPU's allocations, half of
 * them freed by another CPU, checked by byte patterns; the timer tests
 * compare times on the LAPIC timer and TSC but print only ok or FAIL), and each
 * CPU prints one line per test, in CPU order. So the whole transcript is the
 * same whatever the seed (the interleaving of the vCPUs); a test that does
 * not finish would show as a missing line.
 */
import { describe, expect, it } from 'vitest';
import { bootKernel, builtKernel } from './helpers/kernel-build.js';

/** Every test kernel/kern/selftest.ts knows, in the order it runs them. */
const TESTS = [
  'lwkt.priority', 'lwkt.roundrobin', 'lwkt.yield', 'lwkt.deschedule', 'lwkt.critical', 'lwkt.oncpu', 'lwkt.exit',
  'lwkt.preempt', 'lwkt.preempt_remote', 'lwkt.migrate', 'lwkt.setpri_remote',
  'ipiq.storm', 'ipiq.critical', 'ipiq.passive', 'ipiq.nowait', 'ipiq.mask', 'lwkt.schedule_remote', 'lwkt.deschedule_remote',
  'cpusync.quiesce', 'cpusync.concurrent',
  'systimer.hardclock', 'systimer.oneshot', 'systimer.del', 'systimer.critical', 'lwkt.schedulerclock', 'systimer.remote',
  'systimer.del_remote', 'systimer.statclock',
  'tsleep.timeout', 'tsleep.wakeup', 'tsleep.remote',
  'token.sleep', 'token.recursion', 'token.shared', 'token.deadlock', 'token.preempt', 'token.collisions', 'token.pool',
  'token.hard',
  'msgport.initmsg', 'msgport.syncerror', 'msgport.flags', 'msgport.priority', 'msgport.dropmsg', 'msgport.remote',
  'msgport.domsg', 'msgport.forward', 'msgport.abort', 'msgport.spin', 'msgport.spin_oncpu', 'msgport.serializer',
  'msgport.serialize_port', 'msgport.replyonly', 'msgport.putonly', 'msgport.panic', 'msgport.storm',
  'kmalloc.sizes', 'kmalloc.limit', 'kmalloc.remote', 'kmalloc.storm', 'kmalloc.realloc',
  'objcache.reuse', 'objcache.limit', 'objcache.shared',
  'pmap.page0', 'pmap.text_ro', 'pmap.nx', 'pmap.shootdown', 'pmap.remap', 'pmap.kernel', 'pmap.lock',
];
/** The debug-exit values kernel/kern/kern_shutdown.ts writes, as exit statuses. */
const STATUS_OK = 1;
const STATUS_SELFTEST_FAILED = 3 * 2 + 1;

const elf = builtKernel('kernel/main.ts');
const boot = (cpus: number, seed: bigint, append?: string, input?: string): ReturnType<typeof bootKernel> =>
  bootKernel(elf(), { cpus, seed, append, input });

describe('selftest=all', () => {
  for (const cpus of [1, 2, 4, 8]) {
    it(`on -smp ${cpus}: every CPU passes every test, and two seeds print the same transcript`, async () => {
      const runs = [await boot(cpus, 1n, 'selftest=all'), await boot(cpus, 7n, 'selftest=all')];
      for (const { out, status } of runs) {
        const lines = out.split('\n').filter((l) => l.includes('selftest'));
        const results = lines.slice(0, -1).map((l) => /^cpu (\d+): selftest (\S+) (.*)$/.exec(l));
        expect(results.every((r) => r !== null), out).toBe(true);
        expect(results.filter((r) => r![3] !== 'ok').map((r) => r![0]), out).toEqual([]);
        const expected = Array.from({ length: cpus }, (_, cpu) => TESTS.map((t) => `${cpu} ${t}`)).flat();
        expect(results.map((r) => `${r![1]} ${r![2]}`)).toEqual(expected);
        expect(lines.at(-1)).toBe(`selftest: ${TESTS.length} tests on ${cpus} ${cpus === 1 ? 'cpu' : 'cpus'}: all ok`);
        expect(out).toContain(`${cpus} of ${cpus} cpus online\n`);
        expect(status).toBe(STATUS_OK);
      }
      expect(runs[1].out).toBe(runs[0].out);
      // The seeds did interleave the CPUs differently: their waits spun for different times.
      if (cpus > 1) expect(runs[1].instructions).not.toEqual(runs[0].instructions);
    // 8 CPUs take about 40 s here alone, twice that beside other suites on two cores.
    }, 300_000);
  }
});

describe('choosing tests', () => {
  it('selftest=NAME runs that test alone, on every CPU', async () => {
    const { out, status } = await boot(2, 1n, 'console=ttyS0 selftest=lwkt.critical');
    expect(out.split('\n').filter((l) => l.includes('selftest'))).toEqual([
      'cpu 0: selftest lwkt.critical ok', 'cpu 1: selftest lwkt.critical ok', 'selftest: 1 test on 2 cpus: all ok',
    ]);
    expect(status).toBe(STATUS_OK);
  });

  it('selftest=GROUP,NAME runs every test of the group and the named one, in the usual order', async () => {
    const { out, status } = await boot(1, 1n, 'selftest=tsleep.wakeup,cpusync');
    expect(out.split('\n').filter((l) => l.includes('selftest'))).toEqual([
      'cpu 0: selftest cpusync.quiesce ok', 'cpu 0: selftest cpusync.concurrent ok', 'cpu 0: selftest tsleep.wakeup ok',
      'selftest: 3 tests on 1 cpu: all ok',
    ]);
    expect(status).toBe(STATUS_OK);
  });

  it('what if the command line names no such test? It says so and the run fails', async () => {
    const { out, status } = await boot(2, 1n, 'selftest=lwkt.nope,ipi');
    expect(out).toContain('selftest: no test named lwkt.nope\nselftest: no test named ipi\n');
    expect(out).not.toMatch(/selftest lwkt/);
    expect(status).toBe(STATUS_SELFTEST_FAILED);
  });

  it('without selftest= the kernel brings the CPUs up and starts the monitor (test/kernel-monitor.test.ts), running none', async () => {
    const { out, status } = await boot(2, 1n, undefined, 'halt\r');
    expect(out).not.toContain('selftest');
    expect(out).toMatch(/^2 of 2 cpus online\ndamselfly monitor: 2 cpus running; type help\ndb> halt\nhalting\n$/m);
    expect(status).toBe(STATUS_OK);
  });
});
