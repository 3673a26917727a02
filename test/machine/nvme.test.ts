/**
 * The NVMe controller (emu/machine/nvme.ts) driven as a host driver would,
 * against NVMe 1.4: PCI identity and MSI-X placement, CAP/VS/CC/CSTS, the
 * enable/disable/shutdown state machine, Identify, queue creation and its
 * error statuses, Read/Write/Flush through PRP1, PRP2 and PRP lists, LBA
 * range checks, phase tags wrapping, a full CQ, several queue pairs with
 * their own MSI-X vectors, INTA# with INTMS/INTMC, completion times from the
 * disk timing model, and a snapshot restored on a fresh device mid-flight.
 */
import { describe, expect, it } from 'vitest';
import { PhysMem } from '../../emu/cpu/physmem.js';
import { CodePages } from '../../emu/cpu/codepages.js';
import { GuestMemory } from '../../emu/machine/dma.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import { MmioBus, PortBus } from '../../emu/machine/bus.js';
import { NO_LATENCY, SSD_DEFAULTS, type DiskTimingConfig } from '../../emu/machine/disk-timing.js';
import { createNvme } from '../../emu/machine/nvme.js';
import type { BlockDevice } from '../../emu/machine/drives.js';
import { MemDisk, patternDisk } from '../helpers/mem-disk.js';
import type { StateValue } from '../../emu/machine/state.js';

const BAR = 0xe0000000;
const RAM = 8 * 1024 * 1024;
const ASQ = 0x10000, ACQ = 0x11000;
const DISK_BLOCKS = 4096;

interface Cqe { dw0: number; sqhd: number; sqid: number; cid: number; phase: number; status: number; dnr: boolean }
interface Sub { opcode: number; nsid?: number; prp1?: number; prp2?: number; cdw?: Partial<Record<10 | 11 | 12 | 13 | 14 | 15, number>> }

/** A machine around one controller, and a small host driver for it. */
class Rig {
  readonly phys = new PhysMem(RAM);
  readonly mem: GuestMemory;
  readonly clock = new VirtualClock();
  readonly mmio: MmioBus;
  readonly logs: string[] = [];
  readonly msis: { at: number; address: number; data: number }[] = [];
  readonly intx: boolean[] = [];
  /** Clock events the device scheduled that have not fired: what a snapshot would carry. */
  readonly pending = new Map<string, number>();
  readonly dev: BlockDevice;
  readonly sqTail = new Map<number, number>();
  readonly sqSize = new Map<number, number>();
  readonly sqBase = new Map<number, number>();
  readonly cqHead = new Map<number, number>();
  readonly cqSize = new Map<number, number>();
  readonly cqBase = new Map<number, number>();
  readonly cqPhase = new Map<number, number>();
  private cid = 0;

  constructor(readonly disk: MemDisk = patternDisk(DISK_BLOCKS), timing: DiskTimingConfig = NO_LATENCY, map = true, serial = 'SN-TEST-42') {
    const code = new CodePages();
    code.attach({ unmapWritesTo: () => {} } as never, () => {});
    this.mem = new GuestMemory(this.phys, code);
    const log = (c: string, l: string): void => { this.logs.push(`${c}: ${l}`); };
    this.mmio = new MmioBus(log);
    const clock = this.clock;
    const recording = Object.create(clock) as VirtualClock;
    recording.schedule = (at, fire, tag) => {
      this.pending.set(tag!, Math.max(at, clock.time()));
      return clock.schedule(at, () => { this.pending.delete(tag!); fire(); }, tag);
    };
    this.dev = createNvme({
      clock: recording, mem: this.mem, ports: new PortBus(log), mmio: this.mmio, log,
      msi: (address, data) => this.msis.push({ at: clock.time(), address, data }), cpus: 1,
    }, { disk: this.disk, interface: 'nvme', serial, timing }, 3);
    this.dev.pci.intx = { set: (level) => this.intx.push(level) };
    if (map) {
      this.dev.pci.writeConfig(0x10, 4, BAR);
      this.dev.pci.writeConfig(0x14, 4, 0);
      this.dev.pci.writeConfig(0x04, 2, 0x6); // memory space, bus master
    }
  }

  r32(off: number): number { return this.mmio.read(BAR + off, 4) >>> 0; }
  w32(off: number, v: number): void { this.mmio.write(BAR + off, 4, v); }
  w64(off: number, v: number): void { this.w32(off, v % 2 ** 32); this.w32(off + 4, Math.floor(v / 2 ** 32)); }
  csts(): number { return this.r32(0x1c); }

  enable(sqEntries = 16, cqEntries = 16, cc = 0x460001): void {
    this.w32(0x24, ((cqEntries - 1) << 16) | (sqEntries - 1));
    this.w64(0x28, ASQ);
    this.w64(0x30, ACQ);
    this.w32(0x14, cc);
    this.sqTail.set(0, 0); this.sqSize.set(0, sqEntries); this.sqBase.set(0, ASQ);
    this.cqHead.set(0, 0); this.cqSize.set(0, cqEntries); this.cqBase.set(0, ACQ); this.cqPhase.set(0, 1);
  }

  /** Writes a command at the SQ's tail and rings its doorbell; returns its CID. */
  submit(qid: number, s: Sub, ring = true): number {
    const cid = this.cid++ & 0xffff;
    const tail = this.sqTail.get(qid)!;
    const e = this.sqBase.get(qid)! + tail * 64;
    this.mem.fill(e, 64, 0);
    this.mem.setU32(e, s.opcode | (cid << 16));
    this.mem.setU32(e + 4, s.nsid ?? 0);
    this.mem.setU64(e + 24, s.prp1 ?? 0);
    this.mem.setU64(e + 32, s.prp2 ?? 0);
    for (const [k, v] of Object.entries(s.cdw ?? {})) this.mem.setU32(e + 4 * Number(k), v!);
    this.sqTail.set(qid, (tail + 1) % this.sqSize.get(qid)!);
    if (ring) this.w32(0x1000 + 8 * qid, this.sqTail.get(qid)!);
    return cid;
  }

  /** Lets virtual time run until the device has nothing scheduled. */
  settle(): void { for (let t = this.clock.nextDue(); t !== Infinity; t = this.clock.nextDue()) this.clock.advanceTo(t); }

  /** The entry at the CQ's head if its phase says it is new; consumes it (and rings the head doorbell when asked). */
  reap(qid: number, ring = true): Cqe | null {
    const head = this.cqHead.get(qid)!;
    const a = this.cqBase.get(qid)! + head * 16;
    const dw3 = this.mem.u32(a + 12);
    if (((dw3 >>> 16) & 1) !== this.cqPhase.get(qid)) return null;
    const next = (head + 1) % this.cqSize.get(qid)!;
    if (next === 0) this.cqPhase.set(qid, this.cqPhase.get(qid)! ^ 1);
    this.cqHead.set(qid, next);
    if (ring) this.w32(0x1004 + 8 * qid, next);
    const dw2 = this.mem.u32(a + 8);
    return { dw0: this.mem.u32(a), sqhd: dw2 & 0xffff, sqid: dw2 >>> 16, cid: dw3 & 0xffff, phase: (dw3 >>> 16) & 1, status: (dw3 >>> 17) & 0x7ff, dnr: (dw3 >>> 31) === 1 };
  }

  /** Submits one admin or I/O command, lets it complete, and returns its completion. */
  run(qid: number, s: Sub, cqid = qid): Cqe {
    const cid = this.submit(qid, s);
    this.settle();
    const c = this.reap(cqid);
    expect(c, `completion of cid ${cid}`).not.toBeNull();
    expect(c!.cid).toBe(cid);
    return c!;
  }

  admin(s: Sub): Cqe { return this.run(0, s); }

  createCq(qid: number, entries: number, base: number, vector = qid, ien = true): Cqe {
    const c = this.admin({ opcode: 0x05, prp1: base, cdw: { 10: ((entries - 1) << 16) | qid, 11: (vector << 16) | (ien ? 2 : 0) | 1 } });
    if (c.status === 0) { this.cqHead.set(qid, 0); this.cqSize.set(qid, entries); this.cqBase.set(qid, base); this.cqPhase.set(qid, 1); }
    return c;
  }

  createSq(qid: number, entries: number, base: number, cqid = qid): Cqe {
    const c = this.admin({ opcode: 0x01, prp1: base, cdw: { 10: ((entries - 1) << 16) | qid, 11: (cqid << 16) | 1 } });
    if (c.status === 0) { this.sqTail.set(qid, 0); this.sqSize.set(qid, entries); this.sqBase.set(qid, base); }
    return c;
  }

  /** An enabled controller with I/O queue pair 1 (SQ at 0x20000, CQ at 0x30000, vector 1). */
  static ready(disk?: MemDisk, timing?: DiskTimingConfig): Rig {
    const r = new Rig(disk, timing);
    r.enable();
    expect(r.createCq(1, 16, 0x30000).status).toBe(0);
    expect(r.createSq(1, 16, 0x20000).status).toBe(0);
    return r;
  }

  read(qid: number, slba: number, blocks: number, prp1: number, prp2 = 0): Cqe {
    return this.run(qid, { opcode: 0x02, nsid: 1, prp1, prp2, cdw: { 10: slba, 11: 0, 12: blocks - 1 } });
  }

  write(qid: number, slba: number, blocks: number, prp1: number, prp2 = 0): Cqe {
    return this.run(qid, { opcode: 0x01, nsid: 1, prp1, prp2, cdw: { 10: slba, 11: 0, 12: blocks - 1 } });
  }
}

/** Status as SCT << 8 | SC. */
const S = { OK: 0, OPCODE: 0x001, FIELD: 0x002, XFER: 0x004, NS: 0x00b, SEQ: 0x00c, PRP_OFFSET: 0x013, LBA: 0x080, CQ_INVALID: 0x100, QID: 0x101, QSIZE: 0x102, VECTOR: 0x108, LOG: 0x109, DELETION: 0x10c };

function diskBytes(d: MemDisk, slba: number, blocks: number): Uint8Array { return d.bytes.slice(slba * 512, (slba + blocks) * 512); }

describe('PCI function', () => {
  it('is QEMU\'s nvme: 1b36:0010, subsystem 1af4:1100, class 010802, INTA#', () => {
    const r = new Rig(undefined, undefined, false);
    const c = (o: number, s: 1 | 2 | 4) => r.dev.pci.readConfig(o, s);
    expect([c(0, 2), c(2, 2), c(0x2c, 2), c(0x2e, 2), c(9, 1) | (c(10, 2) << 8), c(8, 1), c(0x3d, 1)])
      .toEqual([0x1b36, 0x0010, 0x1af4, 0x1100, 0x010802, 2, 1]);
  });

  it('has one 64-bit memory BAR of 16 KiB, sized by writing all ones', () => {
    const r = new Rig(undefined, undefined, false);
    expect(r.dev.pci.readConfig(0x10, 4)).toBe(0x4);
    r.dev.pci.writeConfig(0x10, 4, 0xffffffff);
    r.dev.pci.writeConfig(0x14, 4, 0xffffffff);
    expect(r.dev.pci.readConfig(0x10, 4)).toBe(0xffffc004);
    expect(r.dev.pci.readConfig(0x14, 4)).toBe(0xffffffff);
    for (let b = 0x18; b < 0x28; b += 4) expect(r.dev.pci.readConfig(b, 4)).toBe(0);
  });

  it('has MSI-X with 65 vectors, the table at BAR0+0x2000 and the pending bits at BAR0+0x3000, as QEMU places them', () => {
    const r = new Rig();
    const cap = r.dev.pci.readConfig(0x34, 1);
    expect(r.dev.pci.readConfig(cap, 1)).toBe(0x11);
    expect(r.dev.pci.readConfig(cap + 2, 2) & 0x7ff).toBe(64);
    expect(r.dev.pci.readConfig(cap + 4, 4)).toBe(0x2000);
    expect(r.dev.pci.readConfig(cap + 8, 4)).toBe(0x3000);
    expect(r.r32(0x2000 + 12)).toBe(1); // vector 0 masked out of reset
  });
});

describe('registers', () => {
  it('CAP: MQES 2047, contiguous queues, TO 7.5 s, DSTRD 0, NVM command set, pages 4-64 KiB; VS 1.4.0', () => {
    const r = new Rig();
    const lo = r.r32(0), hi = r.r32(4);
    expect(lo & 0xffff).toBe(0x7ff);
    expect((lo >>> 16) & 1).toBe(1);
    expect((lo >>> 17) & 3).toBe(0);
    expect(lo >>> 24).toBe(0xf);
    expect(hi & 0xf).toBe(0);
    expect((hi >>> 5) & 0xff).toBe(1);
    expect([(hi >>> 16) & 0xf, (hi >>> 20) & 0xf]).toEqual([0, 4]);
    expect(r.r32(8)).toBe(0x00010400);
    expect(r.csts()).toBe(0);
  });

  it('reads in bytes and words as parts of the dword; ignores narrow writes with a log line', () => {
    const r = new Rig();
    expect(r.mmio.read(BAR + 8, 2)).toBe(0x0400);
    expect(r.mmio.read(BAR + 10, 1)).toBe(0x01);
    r.mmio.write(BAR + 0x14, 1, 1);
    expect(r.csts()).toBe(0);
    expect(r.logs.some((l) => /1-byte write .* registers take dword writes/.test(l))).toBe(true);
  });

  it('AQA, ASQ and ACQ keep what is written but the reserved bits; ASQ as two dwords', () => {
    const r = new Rig();
    r.w32(0x24, 0xffffffff);
    expect(r.r32(0x24)).toBe(0x0fff0fff);
    r.w64(0x28, 0x1_2345_6fff);
    expect([r.r32(0x28), r.r32(0x2c)]).toEqual([0x23456000, 1]);
  });
});

describe('enable, disable, shutdown', () => {
  it('CC.EN 0→1 with good admin queues sets CSTS.RDY; 1→0 clears it and drops the queues', () => {
    const r = Rig.ready();
    expect(r.csts() & 3).toBe(1);
    r.w32(0x14, 0x460000);
    expect(r.csts()).toBe(0);
    r.w32(0x1000 + 8, 1); // SQ 1 is gone with the reset
    expect(r.logs.some((l) => /SQ 1 tail doorbell written \(1\) while the controller is not ready/.test(l))).toBe(true);
    r.enable();
    expect(r.csts() & 3).toBe(1);
    expect(r.admin({ opcode: 0x00, cdw: { 10: 1 } }).status).toBe(S.QID);
  });

  it.each([
    ['a command set other than NVM (CSS 1)', 0x460001 | (1 << 4), 16, 16],
    ['a page size beyond MPSMAX (MPS 5)', 0x460001 | (5 << 7), 16, 16],
    ['weighted round robin (AMS 1), not offered', 0x460001 | (1 << 11), 16, 16],
    ['a one-entry admin SQ', 0x460001, 1, 16],
    ['a one-entry admin CQ', 0x460001, 16, 1],
    ['admin queues off a 64 KiB page (MPS 4)', 0x460001 | (4 << 7), 16, 16],
  ])('CC.EN with %s sets CSTS.CFS, not RDY; a reset clears it', (_, cc, sq, cq) => {
    const r = new Rig();
    r.enable(sq, cq, cc);
    expect(r.csts() & 3).toBe(2);
    expect(r.logs.some((l) => /controller fatal status/.test(l))).toBe(true);
    r.w32(0x14, 0);
    expect(r.csts()).toBe(0);
  });

  it('CC.SHN: shutdown occurring while I/O is in flight, complete (and the disk flushed) once it has finished', () => {
    const r = Rig.ready(undefined, SSD_DEFAULTS);
    r.submit(1, { opcode: 0x02, nsid: 1, prp1: 0x100000, cdw: { 10: 0, 12: 7 } });
    r.w32(0x14, r.r32(0x14) | (1 << 14));
    expect((r.csts() >>> 2) & 3).toBe(1);
    expect(r.disk.flushes).toBe(0);
    r.settle();
    expect((r.csts() >>> 2) & 3).toBe(2);
    expect(r.disk.flushes).toBe(1);
    expect(r.reap(1)!.status).toBe(0);
    r.w32(0x14, 0);
    expect(r.csts()).toBe(0);
  });

  it('a reset with commands in flight posts nothing for them', () => {
    const r = Rig.ready(undefined, SSD_DEFAULTS);
    r.submit(1, { opcode: 0x02, nsid: 1, prp1: 0x100000, cdw: { 10: 0, 12: 7 } });
    r.w32(0x14, 0);
    r.settle();
    expect(r.mem.u32(0x30000 + 12)).toBe(0);
    expect(r.mem.u8(0x100000)).toBe(0);
  });
});

describe('Identify', () => {
  it('controller: PCI vendor, serial from the drive, model, firmware, MDTS, version, entry sizes, one namespace', () => {
    const r = new Rig();
    r.enable();
    expect(r.admin({ opcode: 0x06, prp1: 0x100000, cdw: { 10: 1 } }).status).toBe(0);
    const d = r.mem.read(0x100000, 4096);
    const v = new DataView(d.buffer);
    const str = (o: number, n: number) => String.fromCharCode(...d.subarray(o, o + n));
    expect(v.getUint16(0, true)).toBe(0x1b36);
    expect(v.getUint16(2, true)).toBe(0x1af4);
    expect(str(4, 20)).toBe('SN-TEST-42          ');
    expect(str(24, 40).trimEnd()).toBe('damselfly NVMe SSD');
    expect(str(64, 8).trimEnd()).toBe('1.0');
    expect(d[77]).toBe(7);
    expect(v.getUint32(80, true)).toBe(0x10400);
    expect([d[512], d[513]]).toEqual([0x66, 0x44]);
    expect(v.getUint32(516, true)).toBe(1);
    expect(d[525] & 1).toBe(1);
  });

  it('namespace 1: size, capacity and use in 512-byte blocks (LBA format 0, LBADS 9)', () => {
    const r = new Rig();
    r.enable();
    expect(r.admin({ opcode: 0x06, nsid: 1, prp1: 0x100000, cdw: { 10: 0 } }).status).toBe(0);
    expect([r.mem.u64(0x100000), r.mem.u64(0x100008), r.mem.u64(0x100010)]).toEqual([DISK_BLOCKS, DISK_BLOCKS, DISK_BLOCKS]);
    expect([r.mem.u8(0x100000 + 25), r.mem.u8(0x100000 + 26), r.mem.u8(0x100000 + 130)]).toEqual([0, 0, 9]);
    expect(r.admin({ opcode: 0x06, nsid: 2, prp1: 0x100000, cdw: { 10: 0 } }).status).toBe(S.NS);
  });

  it('active namespace list: [1] after NSID 0, empty after 1; a PRP1 with an offset and PRP2 for the rest', () => {
    const r = new Rig();
    r.enable();
    r.mem.fill(0x100000, 0x2000, 0xff);
    expect(r.admin({ opcode: 0x06, nsid: 0, prp1: 0x100800, prp2: 0x105000, cdw: { 10: 2 } }).status).toBe(0);
    expect(r.mem.u32(0x100800)).toBe(1);
    expect(r.mem.u32(0x100804)).toBe(0);
    expect(r.mem.u8(0x105000 + 0x7ff)).toBe(0);
    expect(r.mem.u8(0x105800)).toBe(0xff & r.mem.u8(0x105800)); // untouched beyond 4 KiB
    expect(r.admin({ opcode: 0x06, nsid: 1, prp1: 0x100000, cdw: { 10: 2 } }).status).toBe(0);
    expect(r.mem.u32(0x100000)).toBe(0);
  });

  it('namespace identification descriptors: one UUID (NIDT 3), the same for the same serial number, another for another', () => {
    const uuid = (serial: string): string => {
      const r = new Rig(undefined, undefined, true, serial);
      r.enable();
      expect(r.admin({ opcode: 0x06, nsid: 1, prp1: 0x100000, cdw: { 10: 3 } }).status).toBe(0);
      expect([r.mem.u8(0x100000), r.mem.u8(0x100001), r.mem.u8(0x100014)]).toEqual([3, 16, 0]);
      const id = r.mem.read(0x100004, 16);
      expect([id[6] >> 4, id[8] >> 6]).toEqual([8, 2]);
      return Buffer.from(id).toString('hex');
    };
    expect(uuid('A')).toBe(uuid('A'));
    expect(uuid('A')).not.toBe(uuid('B'));
  });

  it('a CNS it lacks is Invalid Field in Command, logged as unimplemented', () => {
    const r = new Rig();
    r.enable();
    const c = r.admin({ opcode: 0x06, prp1: 0x100000, cdw: { 10: 0x10 } });
    expect([c.status, c.dnr]).toEqual([S.FIELD, true]);
    expect(r.logs).toContain('unimp: nvme: Identify CNS 0x10 not implemented; Invalid Field in Command');
  });
});

describe('I/O queue creation and deletion', () => {
  const cq = (qid: number, entries: number, base: number, cdw11: number) => ({ opcode: 0x05, prp1: base, cdw: { 10: ((entries - 1) << 16) | qid, 11: cdw11 } });
  const sq = (qid: number, entries: number, base: number, cdw11: number) => ({ opcode: 0x01, prp1: base, cdw: { 10: ((entries - 1) << 16) | qid, 11: cdw11 } });
  it.each([
    ['CQ 0', cq(0, 16, 0x40000, 3), S.QID],
    ['CQ 65, beyond the 64 queues', cq(65, 16, 0x40000, 3), S.QID],
    ['CQ 1 again', cq(1, 16, 0x40000, 3), S.QID],
    ['a one-entry CQ', cq(2, 1, 0x40000, 3), S.QSIZE],
    ['a CQ of 2049 entries (MQES 2047)', cq(2, 2049, 0x40000, 3), S.QSIZE],
    ['a CQ that is not physically contiguous', cq(2, 16, 0x40000, 2), S.FIELD],
    ['a CQ off its page', cq(2, 16, 0x40100, 3), S.PRP_OFFSET],
    ['a CQ on vector 65', cq(2, 16, 0x40000, (65 << 16) | 3), S.VECTOR],
    ['SQ 0', sq(0, 16, 0x40000, (1 << 16) | 1), S.QID],
    ['SQ 1 again', sq(1, 16, 0x40000, (1 << 16) | 1), S.QID],
    ['an SQ on CQ 0', sq(2, 16, 0x40000, 1), S.CQ_INVALID],
    ['an SQ on a CQ that does not exist', sq(2, 16, 0x40000, (9 << 16) | 1), S.CQ_INVALID],
    ['an SQ of 4096 entries', sq(2, 4096, 0x40000, (1 << 16) | 1), S.QSIZE],
    ['deleting SQ 0', { opcode: 0x00, cdw: { 10: 0 } }, S.QID],
    ['deleting an SQ that does not exist', { opcode: 0x00, cdw: { 10: 7 } }, S.QID],
    ['deleting CQ 1 while SQ 1 uses it', { opcode: 0x04, cdw: { 10: 1 } }, S.DELETION],
    ['deleting CQ 0', { opcode: 0x04, cdw: { 10: 0 } }, S.QID],
    ['Number of Queues after queues exist', { opcode: 0x09, cdw: { 10: 7, 11: 0x00030003 } }, S.SEQ],
    ['admin opcode 0x7f', { opcode: 0x7f }, S.OPCODE],
  ])('%s', (_, cmd, status) => {
    const r = Rig.ready();
    const c = r.admin(cmd);
    expect(c.status).toBe(status);
    expect(c.dnr).toBe(true);
  });

  it('I/O queues need CC.IOSQES 6 and IOCQES 4', () => {
    const r = new Rig();
    r.enable(16, 16, 0x000001);
    expect(r.createCq(1, 16, 0x30000).status).toBe(S.QSIZE);
    expect(r.logs.some((l) => /CC.IOCQES = 0/.test(l))).toBe(true);
  });

  it('Number of Queues: what is allocated bounds the queue IDs; 65535 is invalid', () => {
    const r = new Rig();
    r.enable();
    expect(r.admin({ opcode: 0x09, cdw: { 10: 7, 11: 0xffff } }).status).toBe(S.FIELD);
    const c = r.admin({ opcode: 0x09, cdw: { 10: 7, 11: 0x00010001 } });
    expect([c.status, c.dw0]).toEqual([0, 0x00010001]);
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 7 } }).dw0).toBe(0x00010001);
    expect(r.createCq(3, 16, 0x30000).status).toBe(S.QID);
    expect(r.createCq(2, 16, 0x30000).status).toBe(0);
  });

  it('deleting an SQ aborts its commands in flight first; then its CQ may go', () => {
    const r = Rig.ready(undefined, SSD_DEFAULTS);
    const cid = r.submit(1, { opcode: 0x02, nsid: 1, prp1: 0x100000, cdw: { 10: 0, 12: 0 } });
    expect(r.admin({ opcode: 0x00, cdw: { 10: 1 } }).status).toBe(0);
    const c = r.reap(1)!;
    expect([c.cid, c.status, c.dnr]).toEqual([cid, 0x008, true]);
    expect(r.admin({ opcode: 0x04, cdw: { 10: 1 } }).status).toBe(0);
  });
});

describe('Read, Write, Flush', () => {
  it('reads 4 KiB into one page through PRP1', () => {
    const r = Rig.ready();
    const c = r.read(1, 10, 8, 0x100000);
    expect([c.status, c.sqid, c.sqhd]).toEqual([0, 1, 1]);
    expect(r.mem.read(0x100000, 4096)).toEqual(diskBytes(r.disk, 10, 8));
  });

  it('reads across two pages: PRP1 at an offset, PRP2 the second page', () => {
    const r = Rig.ready();
    expect(r.read(1, 3, 8, 0x100a00, 0x200000).status).toBe(0);
    const want = diskBytes(r.disk, 3, 8);
    expect(r.mem.read(0x100a00, 0x600)).toEqual(want.subarray(0, 0x600));
    expect(r.mem.read(0x200000, 0xa00)).toEqual(want.subarray(0x600));
  });

  it('reads through a PRP list, pages scattered and out of order', () => {
    const r = Rig.ready();
    const pages = [0x300000, 0x180000, 0x250000, 0x120000, 0x330000];
    pages.forEach((p, i) => r.mem.setU64(0x140000 + 8 * i, p));
    // 0x200 bytes in the first page, then five pages (the last partly).
    expect(r.read(1, 100, 41, 0x110e00, 0x140000).status).toBe(0);
    const want = diskBytes(r.disk, 100, 41);
    expect(r.mem.read(0x110e00, 0x200)).toEqual(want.subarray(0, 0x200));
    pages.forEach((p, i) => {
      const from = 0x200 + i * 4096, n = Math.min(4096, want.length - from);
      expect(r.mem.read(p, n), `page ${i}`).toEqual(want.subarray(from, from + n));
    });
  });

  it('follows a PRP list that chains: the last entry of a list page points to the next list', () => {
    const r = Rig.ready();
    // The list starts 16 bytes before its page ends: one data entry, then the chain pointer.
    r.mem.setU64(0x140ff0, 0x300000);
    r.mem.setU64(0x140ff8, 0x160000);
    r.mem.setU64(0x160000, 0x310000);
    r.mem.setU64(0x160008, 0x320000);
    expect(r.read(1, 0, 32, 0x100000, 0x140ff0).status).toBe(0);
    const want = diskBytes(r.disk, 0, 32);
    [0x100000, 0x300000, 0x310000, 0x320000].forEach((p, i) => expect(r.mem.read(p, 4096)).toEqual(want.subarray(i * 4096, (i + 1) * 4096)));
  });

  it('writes through a PRP list, reads it back, and Flush reaches the disk', () => {
    const r = Rig.ready();
    const pages = [0x300000, 0x180000];
    pages.forEach((p, i) => r.mem.setU64(0x140000 + 8 * i, p));
    const data = new Uint8Array(3 * 4096).map((_, i) => (i * 13 + 5) & 0xff);
    r.mem.write(0x100000, data.subarray(0, 4096));
    r.mem.write(0x300000, data.subarray(4096, 8192));
    r.mem.write(0x180000, data.subarray(8192));
    expect(r.write(1, 200, 24, 0x100000, 0x140000).status).toBe(0);
    expect(diskBytes(r.disk, 200, 24)).toEqual(data);
    expect(r.read(1, 200, 24, 0x400000, 0x140000).status).toBe(0);
    expect(r.disk.flushes).toBe(0);
    expect(r.run(1, { opcode: 0x00, nsid: 1 }).status).toBe(0);
    expect(r.disk.flushes).toBe(1);
    expect(r.run(1, { opcode: 0x00, nsid: 0xffffffff }).status).toBe(0);
    expect(r.disk.flushes).toBe(2);
  });

  it('a write with FUA, or with the write cache off (feature 06h), is flushed before it completes', () => {
    const r = Rig.ready();
    r.run(1, { opcode: 0x01, nsid: 1, prp1: 0x100000, cdw: { 10: 5, 12: (1 << 30) } });
    expect(r.disk.flushes).toBe(1);
    expect(r.admin({ opcode: 0x09, cdw: { 10: 6, 11: 0 } }).status).toBe(0);
    r.write(1, 5, 1, 0x100000);
    expect(r.disk.flushes).toBe(2);
  });

  it.each([
    ['starts past the end', DISK_BLOCKS, 1, S.LBA],
    ['runs past the end', DISK_BLOCKS - 2, 4, S.LBA],
    ['is beyond MDTS (512 KiB)', 0, 1025, S.FIELD],
  ])('a read that %s fails with its status and moves nothing', (_, slba, blocks, status) => {
    const r = Rig.ready();
    r.mem.fill(0x100000, 4096, 0xee);
    const c = r.read(1, slba, blocks, 0x100000, 0x140000);
    expect([c.status, c.dnr]).toEqual([status, true]);
    expect(r.mem.u8(0x100000)).toBe(0xee);
  });

  it('the last block reads; namespace 2, PRP1 not dword aligned, an unknown opcode all fail', () => {
    const r = Rig.ready();
    expect(r.read(1, DISK_BLOCKS - 1, 1, 0x100000).status).toBe(0);
    expect(r.run(1, { opcode: 0x02, nsid: 2, prp1: 0x100000 }).status).toBe(S.NS);
    expect(r.run(1, { opcode: 0x02, nsid: 1, prp1: 0x100002 }).status).toBe(S.PRP_OFFSET);
    expect(r.run(1, { opcode: 0x08, nsid: 1 }).status).toBe(S.OPCODE);
  });

  it('pages are CC.MPS\'s size: with 8 KiB pages, 12 KiB go to PRP1\'s page and PRP2\'s', () => {
    const r = new Rig();
    r.enable(16, 16, 0x460001 | (1 << 7));
    expect(r.csts() & 3).toBe(2); // ACQ at 0x11000 is off an 8 KiB page
    r.w32(0x14, 0);
    r.w64(0x30, 0x12000);
    r.cqBase.set(0, 0x12000);
    r.w32(0x14, 0x460001 | (1 << 7));
    expect(r.csts() & 3).toBe(1);
    r.createCq(1, 16, 0x30000);
    r.createSq(1, 16, 0x20000);
    expect(r.read(1, 0, 24, 0x100000, 0x200000).status).toBe(0);
    const want = diskBytes(r.disk, 0, 24);
    expect(r.mem.read(0x100000, 0x2000)).toEqual(want.subarray(0, 0x2000));
    expect(r.mem.read(0x200000, 0x1000)).toEqual(want.subarray(0x2000));
  });

  it.each([
    ['PRP2 of a two-page transfer has an offset', 0x100000, 0x200200, null, S.PRP_OFFSET],
    ['a PRP list entry has an offset', 0x100000, 0x140000, 0x300010, S.PRP_OFFSET],
    ['the PRP list pointer is not qword aligned', 0x100000, 0x140004, null, S.PRP_OFFSET],
    ['the PRP list is outside RAM', 0x100000, RAM + 0x1000, null, S.XFER],
  ])('%s: the command fails, logged', (_, prp1, prp2, entry, status) => {
    const r = Rig.ready();
    r.mem.setU64(0x140000, entry ?? 0x300000);
    r.mem.setU64(0x140008, 0x310000);
    const blocks = prp2 === 0x200200 ? 16 : 24;
    expect(r.read(1, 0, blocks, prp1, prp2).status).toBe(status);
    expect(r.logs.some((l) => l.startsWith('guest_errors: nvme: command 0x2'))).toBe(true);
  });

  it('data outside RAM is a Data Transfer Error, logged; the disk is not written', () => {
    const r = Rig.ready();
    const before = diskBytes(r.disk, 0, 8);
    expect(r.write(1, 0, 8, RAM - 0x800, RAM).status).toBe(S.XFER);
    expect(diskBytes(r.disk, 0, 8)).toEqual(before);
    expect(r.logs.some((l) => /guest_errors: nvme: command 0x1 .* outside RAM/.test(l))).toBe(true);
  });

  it('bus mastering off when a command is fetched is a controller fatal status (RDY stays); doorbells are ignored then', () => {
    const r = Rig.ready();
    r.dev.pci.writeConfig(0x04, 2, 0x2);
    r.submit(0, { opcode: 0x06, prp1: 0x100000, cdw: { 10: 1 } });
    expect(r.csts() & 3).toBe(3);
    expect(r.logs.some((l) => /cannot fetch SQ 0 entry 2 .* bus mastering is off/.test(l))).toBe(true);
    r.dev.pci.writeConfig(0x04, 2, 0x6);
    r.w32(0x1000, 0);
    expect(r.logs.at(-1)).toMatch(/SQ 0 tail doorbell written \(0\) while the controller is not ready/);
  });

  it('a submission queue outside RAM is a controller fatal status', () => {
    const r = new Rig();
    r.enable();
    r.createCq(1, 16, 0x30000);
    expect(r.createSq(1, 16, RAM).status).toBe(0);
    r.w32(0x1008, 1);
    expect(r.csts() & 3).toBe(3);
    expect(r.logs.some((l) => /cannot fetch SQ 1 entry 0 at 0x800000: DMA to 0x800000\+64 is outside RAM/.test(l))).toBe(true);
  });
});

describe('completion queues', () => {
  it('the phase tag flips each time the CQ wraps; SQ head follows the fetches', () => {
    const r = new Rig();
    r.enable();
    r.createCq(1, 4, 0x30000);
    r.createSq(1, 3, 0x20000);
    const seen: [number, number][] = [];
    for (let i = 0; i < 10; i++) {
      const c = r.run(1, { opcode: 0x00, nsid: 1 });
      seen.push([c.phase, c.sqhd]);
    }
    expect(seen).toEqual([[1, 1], [1, 2], [1, 0], [1, 1], [0, 2], [0, 0], [0, 1], [0, 2], [1, 0], [1, 1]]);
  });

  it('a full CQ holds completions back until the head doorbell frees room; nothing is lost or reordered', () => {
    const r = new Rig();
    r.enable();
    r.createCq(1, 2, 0x30000); // room for one entry
    r.createSq(1, 8, 0x20000);
    const cids = [0, 1, 2].map(() => r.submit(1, { opcode: 0x00, nsid: 1 }));
    r.settle();
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = r.reap(1, false);
      expect(c).not.toBeNull();
      expect(r.reap(1, false)).toBeNull();
      r.cqHead.set(1, r.cqHead.get(1)!); // the entry is consumed; tell the controller
      r.w32(0x1004 + 8, r.cqHead.get(1)!);
      got.push(c!.cid);
    }
    expect(got).toEqual(cids);
  });

  it('invalid doorbell writes are logged and reported through an Asynchronous Event Request', () => {
    const r = Rig.ready();
    const aer = r.submit(0, { opcode: 0x0c });
    r.settle();
    expect(r.reap(0, false)).toBeNull();
    r.w32(0x1000 + 8 * 9, 1); // SQ 9 does not exist
    r.w32(0x1000 + 8, 16); // SQ 1 has 16 entries: 0-15
    r.w32(0x1004 + 8, 3); // CQ 1 head beyond its tail
    const c = r.reap(0)!;
    expect([c.cid, c.status, c.dw0]).toEqual([aer, 0, 0x010000]);
    expect(r.logs.filter((l) => l.startsWith('guest_errors')).length).toBe(3);
    // Error log read (RAE clear): the next error is reported again, to the next request.
    expect(r.admin({ opcode: 0x02, prp1: 0x100000, cdw: { 10: (15 << 16) | 1 } }).status).toBe(0);
    const aer2 = r.submit(0, { opcode: 0x0c });
    r.settle();
    r.w32(0x1000 + 8, 16);
    const c2 = r.reap(0)!;
    expect([c2.cid, c2.dw0]).toEqual([aer2, 0x010100]);
  });
});

describe('interrupts', () => {
  it('each CQ raises its own MSI-X vector, per queue pair', () => {
    const r = new Rig();
    r.enable();
    for (let q = 1; q <= 4; q++) {
      expect(r.createCq(q, 8, 0x30000 + q * 0x1000, q).status).toBe(0);
      expect(r.createSq(q, 8, 0x20000 + q * 0x1000).status).toBe(0);
    }
    const cap = r.dev.pci.readConfig(0x34, 1);
    r.dev.pci.writeConfig(cap + 2, 2, 0x8000);
    for (let v = 1; v <= 4; v++) {
      r.w32(0x2000 + 16 * v, 0xfee00000 | (v << 12));
      r.w32(0x2000 + 16 * v + 8, 0x40 + v);
      r.w32(0x2000 + 16 * v + 12, 0);
    }
    r.msis.length = 0;
    r.intx.length = 0;
    for (const q of [3, 1, 4, 2]) r.submit(q, { opcode: 0x02, nsid: 1, prp1: 0x100000 + q * 0x1000, cdw: { 10: q, 12: 0 } });
    r.settle();
    expect(r.msis.map((m) => [m.address >>> 0, m.data])).toEqual([3, 1, 4, 2].map((v) => [(0xfee00000 | (v << 12)) >>> 0, 0x40 + v]));
    for (const q of [1, 2, 3, 4]) expect(r.reap(q)!.sqid).toBe(q);
    expect(r.intx.filter((l) => l)).toEqual([]);
  });

  it('a CQ without interrupts enabled raises nothing; a masked vector is left pending', () => {
    const r = new Rig();
    r.enable();
    r.createCq(1, 8, 0x30000, 1, false);
    r.createSq(1, 8, 0x20000);
    r.createCq(2, 8, 0x31000, 2);
    r.createSq(2, 8, 0x21000);
    const cap = r.dev.pci.readConfig(0x34, 1);
    r.dev.pci.writeConfig(cap + 2, 2, 0x8000);
    r.run(1, { opcode: 0x00, nsid: 1 });
    r.run(2, { opcode: 0x00, nsid: 1 });
    expect(r.msis).toEqual([]);
    expect(r.r32(0x3000)).toBe(1 << 2);
  });

  it('INTA# with MSI-X off: asserted while an entry is unconsumed, masked by INTMS, unmasked by INTMC', () => {
    const r = new Rig();
    r.enable();
    r.submit(0, { opcode: 0x06, prp1: 0x100000, cdw: { 10: 1 } });
    r.settle();
    expect(r.intx).toEqual([true]);
    r.w32(0x0c, 1);
    expect(r.r32(0x0c)).toBe(1);
    expect(r.intx).toEqual([true, false]);
    r.w32(0x10, 1);
    expect(r.r32(0x10)).toBe(0);
    expect(r.intx).toEqual([true, false, true]);
    r.reap(0);
    expect(r.intx).toEqual([true, false, true, false]);
    // Masked while the completion arrives: the pin rises when the mask is cleared.
    r.w32(0x0c, 1);
    r.submit(0, { opcode: 0x06, prp1: 0x100000, cdw: { 10: 1 } });
    r.settle();
    expect(r.intx.at(-1)).toBe(false);
    r.w32(0x10, 1);
    expect(r.intx.at(-1)).toBe(true);
    // Enabling MSI-X takes the pin down.
    const cap = r.dev.pci.readConfig(0x34, 1);
    r.dev.pci.writeConfig(cap + 2, 2, 0x8000);
    expect(r.intx.at(-1)).toBe(false);
    r.w32(0x0c, 1);
    expect(r.logs).toContain('guest_errors: nvme: INTMS written while MSI-X is enabled; ignored');
  });
});

describe('timing', () => {
  it('a read completes when the SSD model says: latency plus transfer at 500 MB/s', () => {
    const r = Rig.ready(undefined, SSD_DEFAULTS);
    const t0 = r.clock.time();
    r.submit(1, { opcode: 0x02, nsid: 1, prp1: 0x100000, cdw: { 10: 0, 12: 7 } });
    const due = t0 + SSD_DEFAULTS.latency + Math.round(4096 * 1e9 / SSD_DEFAULTS.rate);
    r.clock.advanceTo(due - 1);
    expect(r.reap(1)).toBeNull();
    expect(r.mem.u8(0x100001)).toBe(0); // the data moves at completion
    r.clock.advanceTo(due);
    expect(r.reap(1)!.status).toBe(0);
    expect(r.mem.read(0x100000, 4096)).toEqual(diskBytes(r.disk, 0, 8));
  });

  it('commands on several channels overlap; a fifth waits for a free channel', () => {
    const r = Rig.ready(undefined, SSD_DEFAULTS);
    const t0 = r.clock.time();
    for (let i = 0; i < 5; i++) r.submit(1, { opcode: 0x02, nsid: 1, prp1: 0x100000 + i * 0x1000, cdw: { 10: i * 8, 12: 7 } });
    const one = SSD_DEFAULTS.latency + Math.round(4096 * 1e9 / SSD_DEFAULTS.rate);
    const times: number[] = [];
    for (let t = r.clock.nextDue(); t !== Infinity; t = r.clock.nextDue()) {
      r.clock.advanceTo(t);
      while (r.reap(1)) times.push(t - t0);
    }
    expect(times).toEqual([one, one, one, one, 2 * one]);
  });
});

describe('Get Log Page and features', () => {
  it('SMART / Health counts commands and data units; Firmware Slot names the revision; others are Invalid Log Page', () => {
    const r = Rig.ready();
    r.read(1, 0, 8, 0x100000);
    r.write(1, 0, 2, 0x100000);
    expect(r.admin({ opcode: 0x02, prp1: 0x110000, cdw: { 10: (127 << 16) | 2 } }).status).toBe(0);
    expect([r.mem.u8(0x110003), r.mem.u64(0x110020), r.mem.u64(0x110030), r.mem.u64(0x110040), r.mem.u64(0x110050)]).toEqual([100, 1, 1, 1, 1]);
    expect(r.admin({ opcode: 0x02, prp1: 0x110000, cdw: { 10: (127 << 16) | 3 } }).status).toBe(0);
    expect([r.mem.u8(0x110000), String.fromCharCode(...r.mem.read(0x110008, 3))]).toEqual([1, '1.0']);
    expect(r.admin({ opcode: 0x02, prp1: 0x110000, cdw: { 10: (127 << 16) | 0x80 } }).status).toBe(S.LOG);
  });

  it('Get Features reads defaults and what Set Features stored; saving is refused; unknown features are invalid', () => {
    const r = new Rig();
    r.enable();
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 7 } }).dw0).toBe(0x003f003f);
    expect(r.admin({ opcode: 0x09, cdw: { 10: 8, 11: 0x0a05 } }).status).toBe(0);
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 8 } }).dw0).toBe(0x0a05);
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 8 | (1 << 8) } }).dw0).toBe(0);
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 8 | (3 << 8) } }).dw0).toBe(4);
    expect(r.admin({ opcode: 0x09, cdw: { 10: 8 | 0x80000000, 11: 1 } }).status).toBe(0x10d);
    expect(r.admin({ opcode: 0x09, cdw: { 10: 0x7e, 11: 1 } }).status).toBe(S.FIELD);
    expect(r.admin({ opcode: 0x0a, cdw: { 10: 0x7e } }).status).toBe(S.FIELD);
    expect(r.admin({ opcode: 0x08, cdw: { 10: 1 } }).dw0 & 1).toBe(1);
  });
});

describe('snapshots', () => {
  /** Builds a fresh rig from `r`'s RAM, disk, clock time, PCI function and device state, with its pending events re-created by tag. */
  function clone(r: Rig, state: StateValue): Rig {
    const c = new Rig(new MemDisk(r.disk.bytes.slice()), SSD_DEFAULTS, false);
    c.phys.bytes.set(r.phys.bytes);
    c.clock.advanceTo(r.clock.now);
    c.dev.pci.restore(r.dev.pci.save());
    c.dev.restore(state);
    for (const [tag, at] of [...r.pending].sort((a, b) => a[1] - b[1])) c.clock.schedule(at, c.dev.event!(tag), tag);
    for (const m of ['sqTail', 'sqSize', 'sqBase', 'cqHead', 'cqSize', 'cqBase', 'cqPhase'] as const) for (const [k, v] of r[m]) c[m].set(k, v);
    return c;
  }

  /** Four queue pairs with MSI-X, reads and writes in flight, one CQ full with a completion held back. */
  function busy(): Rig {
    const r = new Rig(undefined, SSD_DEFAULTS);
    r.enable();
    const cap = r.dev.pci.readConfig(0x34, 1);
    r.dev.pci.writeConfig(cap + 2, 2, 0x8000);
    for (let q = 1; q <= 3; q++) {
      r.createCq(q, q === 3 ? 2 : 8, 0x30000 + q * 0x1000, q);
      r.createSq(q, 8, 0x20000 + q * 0x1000);
      r.w32(0x2000 + 16 * q, 0xfee00000);
      r.w32(0x2000 + 16 * q + 8, 0x40 + q);
      r.w32(0x2000 + 16 * q + 12, q === 2 ? 1 : 0);
    }
    r.submit(0, { opcode: 0x0c });
    for (let i = 0; i < 12; i++) {
      const q = 1 + (i % 3);
      r.submit(q, { opcode: i % 2 ? 0x01 : 0x02, nsid: 1, prp1: 0x100000 + i * 0x1000, cdw: { 10: i * 8, 12: 7 } });
    }
    return r;
  }

  it('save → restore on a fresh device mid-flight continues exactly as the original', () => {
    const a = busy();
    a.clock.advanceTo(a.clock.time() + 70_000);
    expect(a.pending.size).toBeGreaterThan(0);
    const saved = a.dev.save();
    const b = clone(a, saved);
    expect(b.dev.save()).toEqual(saved);
    for (const r of [a, b]) {
      r.msis.length = 0;
      r.settle();
      for (let round = 0; round < 3; round++) for (let q = 1; q <= 3; q++) while (r.reap(q)) { /* drain, ringing the doorbells */ }
      r.w32(0x1000 + 8 * 9, 1);
      r.settle();
    }
    expect(b.msis).toEqual(a.msis);
    expect(b.msis.length).toBeGreaterThan(0);
    expect(Buffer.compare(b.phys.bytes, a.phys.bytes)).toBe(0);
    expect(Buffer.compare(b.disk.bytes, a.disk.bytes)).toBe(0);
    expect(b.dev.save()).toEqual(a.dev.save());
    expect(b.r32(0x3000)).toBe(a.r32(0x3000));
    expect(b.r32(0x3000)).toBe((1 << 2) | 1); // vector 2 masked by the test, vector 0 (the AER's) never unmasked
  });

  it('refuses state of another version', () => {
    const r = new Rig();
    expect(() => r.dev.restore({ version: 9 })).toThrow(/version 9/);
  });
});
