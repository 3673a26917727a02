/**
 * The kernel monitor (kernel/ddb/): kernel/main.ts booted without
 * `selftest=` routes COM1's receiver interrupt through the IOAPIC to the BSP
 * and runs the monitor there, while every CPU keeps scheduling. These tests
 * type at it over COM1 as a user would and read what it prints: the
 * commands (what they show of each CPU was gathered by that CPU, by IPI),
 * the line editor's keys, and halt and reboot.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../emu/machine/session.js';
import { builtKernel, kernelSession } from './helpers/kernel-build.js';

const CPUS = 4;
const WAIT = { virtualTimeout: 20e9 };

const elf = builtKernel('kernel/main.ts');

async function bootToPrompt(seed = 1n): Promise<Session> {
  const s = kernelSession(elf(), { cpus: CPUS, seed });
  await s.serial.expect(/damselfly monitor: 4 cpus running; type help\ndb> /, WAIT);
  return s;
}

/**
 * Types `keys` and returns everything printed up to the next prompt (the echo
 * included): a prompt at the start of a line, not the one a redraw of the
 * line being edited prints after a carriage return.
 */
async function type(s: Session, keys: string): Promise<string> {
  s.serial.send(keys);
  return (await s.serial.expect(/([\s\S]*?\n)db> /, WAIT))[1];
}

describe('the monitor', () => {
  let s: Session;
  beforeAll(async () => { s = await bootToPrompt(); }, 120_000);

  it('help lists every command', async () => {
    const out = await type(s, 'help\r');
    expect(out.startsWith('help\n')).toBe(true);
    for (const c of ['help', 'ps', 'ipi', 'msgs', 'kmalloc', 'tokens', 'cpusync', 'bt [CPU]', 'selftest NAME', 'watch', 'reboot', 'halt']) {
      expect(out).toMatch(new RegExp(`^${c.replace(/[[\]]/g, '\\$&')} +\\S`, 'm'));
    }
  });

  it('ps shows each CPU\'s threads as that CPU sees them: one running, the idle thread, the APs\' boot threads asleep', async () => {
    const out = await type(s, 'ps\r');
    const rows = out.split('\n').slice(2, -1).map((l) => /^ +(\d+) {2}0x([0-9a-f]{8}) +(\d+) +(\d+) +(\d+) {2}(\w+) +(.*)$/.exec(l));
    expect(rows.every((r) => r !== null), out).toBe(true);
    for (let cpu = 0; cpu < CPUS; cpu++) {
      const mine = rows.filter((r) => Number(r![1]) === cpu).map((r) => `${r![3]} ${r![6]} ${r![7].replace(/ on 0x[0-9a-f]{8}$/, '')}`);
      // The CPU answering runs its own IPI handler: the monitor's thread on CPU 0, the idle thread elsewhere.
      expect(mine.sort()).toEqual(cpu === 0
        ? ['0 idle kern/lwkt_thread/lwkt_idle_loop', '12 running (boot thread)']
        : ['0 running kern/lwkt_thread/lwkt_idle_loop', '12 sleeping (boot thread)']);
      // statclock has charged the idle thread most of the time since boot.
      const idle = rows.find((r) => Number(r![1]) === cpu && r![3] === '0')!;
      expect(Number(idle[5])).toBeGreaterThan(0);
    }
  });

  it('ipi counts the IPIs between each pair: ps asked every other CPU', async () => {
    const out = await type(s, 'ipi\r');
    const rows = out.split('\n').slice(2, 2 + CPUS).map((l) => l.trim().split(/ +/).map(Number));
    expect(rows.map((r) => r[0])).toEqual([0, 1, 2, 3]);
    for (let t = 1; t < CPUS; t++) expect(rows[0][1 + t]).toBeGreaterThanOrEqual(1);
    for (let c = 0; c < CPUS; c++) expect(rows[c][1 + c]).toBe(0);
  });

  it('bt CPU prints what that CPU runs, symbolised: an idle AP halts in its idle loop', async () => {
    const out = await type(s, 'bt 2\r');
    const lines = out.split('\n');
    expect(lines[1]).toBe('cpu 2:');
    expect(lines[2]).toMatch(/^ {2}#0 0x[0-9a-f]{16} kern\/lwkt_thread\/lwkt_idle_loop\+0x[0-9a-f]+$/);
    expect(lines.at(-2)).toMatch(/^ {2}#\d+ 0x[0-9a-f]{16} \(runtime\)$/);
    expect(await type(s, 'bt 9\r')).toBe('bt 9\nbt: no such cpu\n');
  });

  it('selftest NAME runs tests on every CPU, and cpusync counts what they did', async () => {
    const out = await type(s, 'selftest cpusync\r');
    const lines = out.split('\n').filter((l) => l.includes('selftest'));
    expect(lines.slice(1)).toEqual([
      ...Array.from({ length: CPUS }, (_, c) => [`cpu ${c}: selftest cpusync.quiesce ok`, `cpu ${c}: selftest cpusync.concurrent ok`]).flat(),
      `selftest: 2 tests on ${CPUS} cpus: all ok`,
    ]);
    const counters = (await type(s, 'cpusync\r')).split('\n').slice(2, 2 + CPUS).map((l) => l.trim().split(/ +/).map(Number));
    for (const [cpu, mastered, parked, funcs] of counters) {
      expect(cpu).toBeLessThan(CPUS);
      expect(mastered).toBeGreaterThan(0);
      expect(parked).toBeGreaterThan(0);
      expect(funcs).toBeGreaterThan(0);
    }
    expect(await type(s, 'selftest nope\r')).toBe('selftest nope\nselftest: no test named nope\n');
    expect(await type(s, 'selftest\r')).toContain(' lwkt.priority lwkt.roundrobin');
  }, 120_000);

  it('msgs, kmalloc and tokens show what the message, kmalloc and token self-tests did', async () => {
    const ran = await type(s, 'selftest msgport.storm,kmalloc.remote,token.collisions\r');
    expect(ran).toContain(`selftest: 3 tests on ${CPUS} cpus: all ok`);
    const msgs = (await type(s, 'msgs\r')).split('\n');
    expect(msgs[1]).toBe('cpu      sent  received   replied  crosscpu');
    for (let cpu = 0; cpu < CPUS; cpu++) {
      const [c, sent, received, replied, cross] = msgs[2 + cpu].trim().split(/ +/).map(Number);
      expect(c).toBe(cpu);
      // The storm: every CPU sends to a thread port on every CPU, its own included, and each request is replied to.
      expect(sent).toBeGreaterThan(0);
      expect(replied).toBe(sent);
      expect(received).toBe(sent + replied);
      expect(cross).toBe(sent * 2 * (CPUS - 1) / CPUS);
    }
    const kmalloc = await type(s, 'kmalloc\r');
    expect(kmalloc).toMatch(/^kmalloc selftest +0 +0 +[1-9]\d* +[1-9]\d*$/m);
    const tokens = await type(s, 'tokens\r');
    expect(tokens).toMatch(/^selftest\.collisions +free +[1-9]\d*$/m);
    expect(tokens).toMatch(/^pool: 4001 tokens, 0 held, \d+ collisions$/m);
  }, 120_000);

  it('says so for an unknown command', async () => {
    expect(await type(s, 'frob 1\r')).toBe('frob 1\nno such command: frob (try help)\n');
  });

  it('watch prints a line a second until a key is pressed', async () => {
    s.serial.send('watch\r');
    await s.serial.expect(/ipi\/s.*\nmsg\/s.*\nbusy%.*\nipi\/s.*\nmsg\/s.*\nbusy%.*\n/, WAIT);
    s.serial.send('q');
    expect((await s.serial.expect(/([\s\S]*?)db> /, WAIT))[1]).toMatch(/^(ipi\/s( +\d+){4}\nmsg\/s( +\d+){4}\nbusy% ( +\d+){4}\n)*$/);
  });
});

describe('the line editor', () => {
  let s: Session;
  beforeAll(async () => { s = await bootToPrompt(); }, 120_000);
  const ran = (out: string, what: RegExp): boolean => what.test(out);
  const HELP = /^help {12}this list$/m;

  it('^A, ^D, ^E, the arrows and Delete move and delete inside the line', async () => {
    expect(ran(await type(s, 'xhelp\x01\x04\r'), HELP)).toBe(true);
    expect(ran(await type(s, 'hep\x1b[Dl\r'), HELP)).toBe(true);
    expect(ran(await type(s, 'helpx\x1b[H\x1b[F\x08\r'), HELP)).toBe(true);
    expect(ran(await type(s, 'hxelp\x02\x02\x02\x02\x1b[3~\r'), HELP)).toBe(true);
  });

  it('^U, ^W and ^K kill text; ^C abandons the line', async () => {
    expect(ran(await type(s, 'bogus\x15help\r'), HELP)).toBe(true);
    expect(ran(await type(s, 'bogus ps\x17\x17help\r'), HELP)).toBe(true);
    expect(ran(await type(s, 'helpless\x02\x02\x02\x02\x0b\r'), HELP)).toBe(true);
    expect(await type(s, 'help\x03')).toBe('help^C\n');
  });

  it('up and down walk the history', async () => {
    await type(s, 'ipi\r');
    await type(s, 'help\r');
    expect(await type(s, '\x1b[A\x1b[A\r')).toContain('from\\to');
    expect(ran(await type(s, '\x10\x10\x10\x0e\r'), HELP)).toBe(true);
  });

  it('tab completes a unique command and lists several', async () => {
    expect(await type(s, 'cpus\t\r')).toMatch(/^cpus[\s\S]*cpusync [\s\S]*mastered/);
    const listed = await type(s, 'h\t\x15\r');
    expect(listed).toContain('\nhelp halt \n');
  });
});

describe('stopping', () => {
  it('halt stops every CPU and the machine: status 1', async () => {
    const s = await bootToPrompt();
    s.serial.send('halt\r');
    const stop = await s.runToExit(WAIT);
    expect(s.serial.output.endsWith('db> halt\nhalting\n')).toBe(true);
    expect(stop).toEqual({ kind: 'exit', status: 1 });
  }, 120_000);

  it('reboot resets the machine through the reset control register', async () => {
    const s = await bootToPrompt();
    s.serial.send('reboot\r');
    const stop = await s.runToExit(WAIT);
    expect(s.serial.output.endsWith('db> reboot\nrebooting\n')).toBe(true);
    expect(stop).toEqual({ kind: 'shutdown', reason: 'hard reset by the reset control register (0xcf9)' });
  }, 120_000);
});
