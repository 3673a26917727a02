/**
 * Machine snapshots (emu/machine/snapshot.ts): does a machine saved at T and
 * resumed in a fresh one reach 2T with the same transcript and the same state
 * as a machine that never stopped — with CPUs racing, timers in flight and
 * serial input still arriving? And is every damaged file refused?
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Machine } from '../../emu/machine/machine.js';
import { loadState, readSnapshot, saveState, SnapshotError, type LoadEnv } from '../../emu/machine/snapshot.js';
import { nodeEnv } from '../../emu/storage/node.js';
import { crc32 } from '../../emu/storage/crc32.js';
import { Session } from '../../emu/machine/session.js';

const codec = nodeEnv.codec;
const noDisks = (): never => { throw new Error('this machine has no disks'); };

interface Guest {
  prog: string;
  cpus: number;
  seed?: bigint;
  jit?: boolean;
  /** A triple fault resets the machine (the firmware boots the kernel again) instead of stopping it. */
  reboot?: boolean;
  /** Host input scheduled at these virtual times (replayed, so it is part of the run). */
  input?: { at: number; text: string }[];
}

function boot(g: Guest, serial: (b: number) => void): Machine {
  const m = new Machine({
    ramBytes: 64 << 20, cpus: g.cpus, seed: g.seed ?? 7n, noReboot: !g.reboot, jit: g.jit,
    kernel: { name: `${g.prog}.elf`, bytes: readFileSync(`test/guest/bin/${g.prog}.elf`) },
    serial,
  });
  for (const { at, text } of g.input ?? []) m.scheduleSerial(at, new TextEncoder().encode(text));
  return m;
}

function sha(bytes: Uint8Array): string { return createHash('sha256').update(bytes).digest('hex'); }

/** Straight to `end`, and to `mid`, saved, resumed in a fresh machine, on to `end`: both transcripts and states. */
function compare(g: Guest, mid: number, end: number) {
  let straight = '';
  const a = boot(g, (b) => { straight += String.fromCharCode(b); });
  const stopA = a.run(end);
  let split = '';
  const b = boot(g, (x) => { split += String.fromCharCode(x); });
  const stopMid = b.run(mid);
  const file = saveState(b, codec);
  const env: LoadEnv = { codec, openDisk: noDisks, jit: g.jit, serial: (x) => { split += String.fromCharCode(x); } };
  const c = loadState('mid.snap', file, env);
  const stopC = c.run(end);
  expect(stopC).toEqual(stopA);
  return { straight, split, stopMid, hashA: sha(saveState(a, codec)), hashC: sha(saveState(c, codec)), file };
}

/** Virtual time at which the guest stops by itself. */
function runLength(g: Guest): number {
  const m = boot(g, () => {});
  const r = m.run(60e9);
  expect(r.kind).toBe('exit');
  return m.clock.now;
}

/**
 * One reference run, stopped at each of `times` to save; then every snapshot
 * but the last is resumed in a fresh machine and run to the next time, where
 * its output since the save and its state must be the reference's. (Stopping
 * a run between rounds changes nothing: test/machine-determinism.test.ts.)
 */
function chain(g: Guest, times: number[]): { resets: number[]; output: string } {
  let ref = '';
  const a = boot(g, (b) => { ref += String.fromCharCode(b); });
  const points = times.map((t) => {
    const stop = a.run(t);
    return { stop, file: saveState(a, codec), at: ref.length, resets: a.resets };
  });
  for (let i = 1; i < points.length; i++) {
    let out = '';
    const c = loadState(`t${i - 1}.snap`, points[i - 1].file, { codec, openDisk: noDisks, jit: g.jit, serial: (x) => { out += String.fromCharCode(x); } });
    const stop = c.run(times[i]);
    expect(out, `output from checkpoint ${i - 1} to ${i}`).toBe(ref.slice(points[i - 1].at, points[i].at));
    expect(stop).toEqual(points[i].stop);
    expect(sha(saveState(c, codec)), `state at checkpoint ${i}`).toBe(sha(points[i].file));
  }
  return { resets: points.map((p) => p.resets), output: ref };
}

describe('run to T, save, load, run to 2T = run straight to 2T', () => {
  it('four CPUs racing on shared memory (racy.elf -smp 4)', () => {
    const g = { prog: 'racy', cpus: 4 };
    const t = Math.floor(runLength(g) / 2);
    const r = compare(g, t, 2 * t);
    expect(r.stopMid.kind).toBe('time');
    expect(r.split).toBe(r.straight);
    expect(r.hashC).toBe(r.hashA);
    expect(r.straight).toMatch(/PASS|ok/);
  });

  it('with the block compiler off too (smp.elf -smp 4)', () => {
    const g = { prog: 'smp', cpus: 4, jit: false };
    const t = 15_000_000;
    const r = compare(g, t, 2 * t);
    expect(r.split).toBe(r.straight);
    expect(r.hashC).toBe(r.hashA);
  });

  it('LAPIC timers in flight at the saves (apic-timer.elf)', () => {
    chain({ prog: 'apic-timer', cpus: 1 }, [15e6, 33e6, 51e6, 69e6, 90e6]);
  });

  it('serial input still arriving at the save (echo.elf, input replayed from a recording)', () => {
    const g = { prog: 'echo', cpus: 1, input: [{ at: 1_000_000, text: 'hello snapshot' }, { at: 3_000_000, text: 'later\r' }] };
    // At 1.2 ms the first line is in the UART's pump (a character per 1.04 ms at 9600 baud) and the second is still a clock event.
    const r = compare(g, 1_200_000, 20_000_000);
    expect(r.split).toBe(r.straight);
    expect(r.straight).toContain('HELLO SNAPSHOT');
    expect(r.straight).toContain('LATER');
    expect(r.hashC).toBe(r.hashA);
  });

  it('PIT interrupts in flight (pit-calibrate.elf)', () => {
    chain({ prog: 'pit-calibrate', cpus: 1 }, [20e6, 45e6, 70e6]);
  });

  it('IOAPIC-routed UART interrupts (ioapic-uart.elf)', () => {
    const g = { prog: 'ioapic-uart', cpus: 1 };
    const len = runLength(g);
    chain(g, [0.15, 0.3, 0.5, 0.7, 0.9, 1.1].map((f) => Math.floor(len * f)));
  });

  it('a reset after the resume boots the kernel kept in the snapshot, CMOS intact (triple-fault.elf)', () => {
    const g = { prog: 'triple-fault', cpus: 1, reboot: true };
    // The first boot faults within the first round (a lone CPU runs up to 1 ms in one), so the
    // save before it is the one at power-on; the resumed machine then resets by itself.
    const len = runLength(g);
    const r = chain(g, [0, 0.3, 0.6, 1.1].map((f) => Math.floor(len * f)));
    expect(r.resets[0]).toBe(0);
    expect(r.resets.at(-1)).toBe(1);
    expect(r.output).toMatch(/rebooted[\s\S]*PASS/);
  });

  it('a snapshot resumes any number of times, each the same', () => {
    const g = { prog: 'racy', cpus: 2, seed: 11n };
    const r = compare(g, 5_000_000, 10_000_000);
    const again = loadState('mid.snap', r.file, { codec, openDisk: noDisks });
    again.run(10_000_000);
    expect(sha(saveState(again, codec))).toBe(r.hashC);
  });
});

describe('every component comes back as it was', () => {
  it('save → load → save gives the same bytes, at many points of an SMP run', () => {
    const g = { prog: 'msi', cpus: 2 };
    const m = boot(g, () => {});
    for (let t = 50_000; t < 5_000_000 && m.run(t).kind === 'time'; t *= 2) {
      const file = saveState(m, codec);
      const copy = loadState('x.snap', file, { codec, openDisk: noDisks });
      expect(sha(saveState(copy, codec))).toBe(sha(file));
    }
  });

  it('what if RAM ends inside a 64 KiB chunk? its last 4 KiB page comes back, nothing past it', () => {
    const ramBytes = (16 << 20) + 4096;
    const m = new Machine({ ramBytes, cpus: 1, seed: 1n, kernel: { name: 'hello.elf', bytes: readFileSync('test/guest/bin/hello.elf') } });
    m.phys.bytes.fill(0xa5, ramBytes - 4096);
    const copy = loadState('x.snap', saveState(m, codec), { codec, openDisk: noDisks });
    expect(copy.phys.size).toBe(ramBytes);
    expect(copy.phys.bytes.subarray(ramBytes - 4096).every((b) => b === 0xa5)).toBe(true);
    expect(copy.phys.bytes.subarray(ramBytes - 8192, ramBytes - 4096).every((b) => b === 0)).toBe(true);
  });

  it('the manifest says what machine it is', () => {
    const m = boot({ prog: 'hello', cpus: 3 }, () => {});
    m.run(100_000);
    const { manifest } = readSnapshot('x.snap', saveState(m, codec));
    expect(manifest).toMatchObject({ format: 'damselfly machine snapshot', version: 1, cpus: 3, ramBytes: 64 << 20, seed: '7', drives: [] });
    expect(manifest.kernel).toEqual({ name: 'hello.elf', size: m.config.kernel.bytes.length, crc32: crc32(m.config.kernel.bytes) });
    expect(manifest.virtualTime).toBe(m.clock.now);
  });

  it('what if a pending clock event has no tag? save refuses, naming it', () => {
    const m = boot({ prog: 'hello', cpus: 1 }, () => {});
    m.clock.schedule(123_456_789, () => {});
    expect(() => saveState(m, codec)).toThrow(/clock event due at 123456789 ns has no tag/);
  });
});

describe('the library API', () => {
  it('Session.saveState and Session.loadState: typed input not yet read survives the trip', async () => {
    const s = new Session({ kernel: { name: 'echo.elf', bytes: readFileSync('test/guest/bin/echo.elf') } });
    await s.serial.expect(/type, and it comes back/, { virtualTimeout: 1e9 });
    s.serial.send('abc');
    const resumed = Session.loadState('s.snap', s.saveState(codec), { codec, openDisk: noDisks });
    expect(resumed.serial.output).toBe('');
    await resumed.serial.expect(/ABC/, { virtualTimeout: 1e8 });
    await s.serial.expect(/ABC/, { virtualTimeout: 1e8 });
    expect(resumed.machine.clock.now).toBe(s.machine.clock.now);
  });
});

describe('damaged files are refused with one line naming the file', () => {
  const m = boot({ prog: 'apic-timer', cpus: 1 }, () => {});
  m.run(200_000);
  const good = saveState(m, codec);
  const load = (bytes: Uint8Array): Machine => loadState('bad.snap', bytes, { codec, openDisk: noDisks });
  const refused = (bytes: Uint8Array, why: RegExp): void => {
    let err: unknown;
    try { load(bytes); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SnapshotError);
    expect((err as Error).message).toMatch(/^bad\.snap: /);
    expect((err as Error).message).toMatch(why);
    expect((err as Error).message).not.toContain('\n');
  };

  it('a good file loads', () => {
    expect(load(good).clock.now).toBe(m.clock.now);
  });

  it('truncated anywhere', () => {
    for (const len of [0, 10, 19, 20, 30, 200, good.length >> 1, good.length - 1]) refused(good.subarray(0, len), /truncated|missing/);
  });

  it('a flipped bit anywhere: every byte of the headers, and spread over the payloads', () => {
    const headers = [...Array(20).keys()];
    for (let o = 20; o < good.length;) {
      for (let i = 0; i < 20; i++) headers.push(o + i);
      o += 20 + new DataView(good.buffer, good.byteOffset + o + 8, 8).getUint32(0, true);
    }
    const spread = Array.from({ length: 200 }, (_, k) => Math.floor((k + 0.5) / 200 * good.length));
    for (const [k, at] of [...headers, ...spread].entries()) {
      const bad = good.slice();
      bad[at] ^= 1 << (k & 7);
      refused(bad, /corrupt|bad magic|not supported|truncated|missing|unexpected/);
    }
  });

  it('an unknown version, wrong magic, bytes appended', () => {
    const v2 = good.slice();
    new DataView(v2.buffer).setUint32(8, 2, true);
    new DataView(v2.buffer).setUint32(16, crc32(v2.subarray(0, 16)), true);
    refused(v2, /snapshot version 2 is not supported/);
    const magic = good.slice();
    magic[0] = 0x58;
    refused(magic, /not a machine snapshot/);
    refused(Uint8Array.from([...good, 0]), /1 unexpected bytes after the last section/);
  });
});
