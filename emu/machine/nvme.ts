/**
 * An NVM Express 1.4 controller (the "SSD") with one namespace, the whole
 * disk, on PCI bus 0. It presents itself as QEMU's `nvme` device does — IDs
 * 1b36:0010, class 010802, one 64-bit memory BAR of 16 KiB with the registers
 * at 0, the doorbells from 0x1000 and the MSI-X table (65 vectors) and
 * pending bits at 0x2000 and 0x3000, INTA# — so a driver written against
 * one works on the other.
 *
 * The model (NVMe 1.4 §7.6): the host fills AQA/ASQ/ACQ and sets CC.EN; the
 * controller checks CC and the admin queues and sets CSTS.RDY, or CSTS.CFS
 * when they are unusable. A submission queue's tail doorbell makes the
 * controller fetch every new entry at once (the SQ head moves then); each
 * command completes when it is due — admin commands at once, I/O when
 * DiskTiming says the drive is done — and only then does its data move and
 * the disk get read or written. Completions go to the CQ with the current
 * phase tag and the SQ head; a full CQ holds them back until its head
 * doorbell frees a slot (§4.1). Each posting raises the CQ's MSI-X vector, or
 * with MSI-X off drives INTA# while any CQ with interrupts enabled has
 * entries the host has not consumed and its vector is not masked by INTMS
 * (§7.5.1). CC.EN 1→0 is a controller reset: queues, commands in flight and
 * features are dropped. CC.SHN completes outstanding commands, flushes the
 * disk and reports CSTS.SHST = complete.
 */
import type { MmioDevice, Size } from './bus.js';
import { DmaError } from './dma.js';
import { DiskTiming } from './disk-timing.js';
import type { BlockDevice, BlockDeviceFactory, DeviceContext, DriveConfig } from './drives.js';
import { Msix } from './msix.js';
import { PCI_COMMAND_MASTER, PciFunction, attachBars } from './pci.js';
import type { StateValue } from './state.js';
import {
  CC_EN, CQE_BYTES, CSTS_CFS, CSTS_RDY, DNR, Reg, SHST_COMPLETE, SHST_NORMAL, SHST_OCCURRING, SQE_BYTES, Sqe, Status,
  ccAms, ccCss, ccMps, ccShn,
} from './nvme-defs.js';
import { MAX_IO_QUEUES, MQES, defaultFeatures, executeAdmin, type FeatureValues } from './nvme-admin.js';
import { executeIo, planIo } from './nvme-io.js';
import { BLOCK, VERSION, type ControllerIdentity, type Health } from './nvme-identify.js';
import { AsyncEvents, EVENT_INVALID_DOORBELL_REGISTER, EVENT_INVALID_DOORBELL_VALUE } from './nvme-events.js';
import { transfer } from './nvme-prp.js';

const BAR0_BYTES = 0x4000;
const MSIX_VECTORS = MAX_IO_QUEUES + 1;
const MSIX_TABLE = 0x2000, MSIX_PBA = 0x3000;
/** CAP.TO, in 500 ms units: how long a host waits for CSTS.RDY. */
const READY_TIMEOUT = 0xf;
/** CAP.MPSMIN/MPSMAX: pages of 4 KiB to 64 KiB. */
const MPS_MAX = 4;
const MDTS = 7;
/** AERL and ACL, 0's based. */
const AER_LIMIT = 3, ABORT_LIMIT = 3;

/** CAP (§3.1.1), as two dwords: MQES, CQR, TO | DSTRD 0, CSS bit 37 (the NVM command set), MPSMIN 0, MPSMAX. */
const CAP_LO = (MQES | (1 << 16) | (READY_TIMEOUT << 24)) >>> 0;
const CAP_HI = (1 << 5) | (MPS_MAX << 20);

export interface SubmissionQueue { id: number; base: number; size: number; head: number; tail: number; cqid: number }
export interface CompletionQueue {
  id: number; base: number; size: number; head: number; tail: number;
  /** The phase tag the next entry is written with; it flips each time the tail wraps. */
  phase: number;
  ien: boolean; vector: number;
  /** Entries (without the phase bit) waiting for room, oldest first. */
  held: Uint8Array[];
}
export interface Completion { status: number; dw0: number }

interface Command { sqid: number; sqe: Uint8Array }

class BusMasterOff extends Error {
  constructor() { super('bus mastering is off in the command register'); }
}

export class NvmeController implements BlockDevice, MmioDevice {
  readonly pci: PciFunction;
  readonly msix: Msix;
  readonly timing: DiskTiming;
  readonly blocks: number;
  readonly identity: ControllerIdentity;
  readonly maxTransfer = (1 << MDTS) * 4096;
  readonly events: AsyncEvents;
  private readonly tagPrefix: string;

  // Registers (§3.1).
  cc = 0;
  private cfs = false;
  private shst = SHST_NORMAL;
  private intms = 0;
  private aqa = 0;
  private asq = 0;
  private acq = 0;
  /** CC.MPS as bytes, latched when the controller was enabled. */
  pageSize = 4096;

  // Controller state, reset with CC.EN 1→0.
  readonly sqs = new Map<number, SubmissionQueue>();
  readonly cqs = new Map<number, CompletionQueue>();
  private inflight = new Map<number, Command>();
  private nextCommand = 0;
  private shutdownPending = false;
  features: FeatureValues = defaultFeatures();
  coalescingDisabled = new Array<number>(MSIX_VECTORS).fill(0);
  allocatedSqs = MAX_IO_QUEUES;
  allocatedCqs = MAX_IO_QUEUES;
  ioQueuesCreated = false;
  health: Health = { blocksRead: 0, blocksWritten: 0, readCommands: 0, writeCommands: 0 };

  constructor(private readonly ctx: DeviceContext, private readonly drive: DriveConfig, slot: number) {
    this.tagPrefix = `nvme@${slot}:`;
    this.blocks = Math.floor(drive.disk.size / BLOCK);
    this.timing = new DiskTiming(drive.timing, drive.disk.size);
    this.identity = {
      vendor: 0x1b36, subsystemVendor: 0x1af4, serial: drive.serial, model: 'damselfly NVMe SSD', firmware: '1.0',
      mdts: MDTS, acl: ABORT_LIMIT, aerl: AER_LIMIT,
    };
    this.pci = new PciFunction({ vendor: 0x1b36, device: 0x0010, classCode: 0x010802, revision: 2, subsystemVendor: 0x1af4, subsystem: 0x1100 });
    this.pci.setInterruptPin(1);
    this.pci.addBar(0, 'mem64', BAR0_BYTES);
    this.msix = new Msix(this.pci, { vectors: MSIX_VECTORS, tableBar: 0, tableOffset: MSIX_TABLE, pbaBar: 0, pbaOffset: MSIX_PBA }, ctx.msi, ctx.log);
    const msixWrite = this.pci.onConfigWrite;
    this.pci.onConfigWrite = (offset, size) => { msixWrite(offset, size); this.updateIntx(); };
    this.events = new AsyncEvents(AER_LIMIT + 1, (cid, c) => this.complete(0, cid, c));
    attachBars(this.pci, ctx.ports, ctx.mmio, ctx.log, { 0: this });
  }

  get log(): DeviceContext['log'] { return this.ctx.log; }
  get disk(): DriveConfig['disk'] { return this.drive.disk; }
  /** CSTS.RDY: enabled, with admin queues; a fatal status leaves it set (§3.1.6) but stops the controller. */
  private get enabled(): boolean { return (this.cc & CC_EN) !== 0 && this.sqs.has(0); }
  private get ready(): boolean { return this.enabled && !this.cfs; }

  // ---- BAR0 -------------------------------------------------------------------------------

  mmioRead(offset: number, size: Size): number {
    if (offset >= MSIX_PBA) return this.msix.pbaWindow.mmioRead(offset - MSIX_PBA, size);
    if (offset >= MSIX_TABLE) return this.msix.tableWindow.mmioRead(offset - MSIX_TABLE, size);
    const word = this.register(offset & ~3);
    return size === 4 ? word : (word >>> (8 * (offset & 3))) & (size === 2 ? 0xffff : 0xff);
  }

  mmioWrite(offset: number, size: Size, value: number): void {
    if (offset >= MSIX_PBA) { this.msix.pbaWindow.mmioWrite(offset - MSIX_PBA, size, value); return; }
    if (offset >= MSIX_TABLE) { this.msix.tableWindow.mmioWrite(offset - MSIX_TABLE, size, value); return; }
    if (size !== 4 || offset & 3) {
      // §3.1: registers are accessed as whole dwords (qwords as two).
      this.log('guest_errors', `nvme: ${size}-byte write of 0x${value.toString(16)} at 0x${offset.toString(16)} ignored; registers take dword writes`);
      return;
    }
    value >>>= 0;
    if (offset >= Reg.DOORBELLS) { this.doorbell(offset, value); return; }
    switch (offset) {
      case Reg.INTMS: case Reg.INTMC:
        // §3.1.3: with MSI-X the host does not use these; the vectors' masks are in the table.
        if (this.msix.enabled) { this.log('guest_errors', `nvme: ${offset === Reg.INTMS ? 'INTMS' : 'INTMC'} written while MSI-X is enabled; ignored`); return; }
        this.intms = (offset === Reg.INTMS ? this.intms | value : this.intms & ~value) >>> 0;
        this.updateIntx();
        return;
      case Reg.CC: this.writeCc(value); return;
      case Reg.AQA: this.aqa = value & 0x0fff0fff; return;
      case Reg.ASQ: this.asq = hiLo(this.asq, value & ~0xfff, false); return;
      case Reg.ASQ + 4: this.asq = hiLo(this.asq, value, true); return;
      case Reg.ACQ: this.acq = hiLo(this.acq, value & ~0xfff, false); return;
      case Reg.ACQ + 4: this.acq = hiLo(this.acq, value, true); return;
      case Reg.NSSR:
        this.log('guest_errors', `nvme: NSSR written (0x${value.toString(16)}); CAP.NSSRS says subsystem resets are not supported`);
        return;
      default:
        this.log('guest_errors', `nvme: write of 0x${value.toString(16)} to read-only or reserved register 0x${offset.toString(16)} ignored`);
    }
  }

  private register(offset: number): number {
    switch (offset) {
      case Reg.CAP: return CAP_LO;
      case Reg.CAP + 4: return CAP_HI;
      case Reg.VS: return VERSION;
      case Reg.INTMS: case Reg.INTMC: return this.intms;
      case Reg.CC: return this.cc;
      case Reg.CSTS: return ((this.enabled ? CSTS_RDY : 0) | (this.cfs ? CSTS_CFS : 0) | (this.shst << 2)) >>> 0;
      case Reg.AQA: return this.aqa;
      case Reg.ASQ: return this.asq >>> 0;
      case Reg.ASQ + 4: return Math.floor(this.asq / 2 ** 32);
      case Reg.ACQ: return this.acq >>> 0;
      case Reg.ACQ + 4: return Math.floor(this.acq / 2 ** 32);
      default:
        if (offset >= Reg.DOORBELLS) this.log('guest_errors', `nvme: read of doorbell 0x${offset.toString(16)}; doorbells are write-only, reads 0`);
        return 0;
    }
  }

  // ---- enable, reset, shutdown (§7.6) ---------------------------------------------------------

  private writeCc(value: number): void {
    const before = this.cc;
    this.cc = value & 0x00fffff1;
    // §3.1.5: CSS, MPS and AMS change only while disabled; the controller keeps what it was enabled with.
    if ((before & value & CC_EN) && ((before ^ value) & 0x3ff0)) {
      this.log('guest_errors', `nvme: CC.CSS/MPS/AMS changed from 0x${before.toString(16)} to 0x${value.toString(16)} while enabled; not applied until the next enable`);
    }
    if ((before & CC_EN) && !(value & CC_EN)) this.reset();
    else if (!(before & CC_EN) && (value & CC_EN)) this.enable();
    if (ccShn(value) !== 0 && ccShn(before) === 0) this.startShutdown();
  }

  /**
   * CC.EN 0→1. Values the spec leaves undefined (a command set, page size or
   * arbitration mechanism CAP does not offer; admin queues of one entry or
   * off their page) make the controller fail (CSTS.CFS) rather than guess.
   */
  private enable(): void {
    const asqs = (this.aqa & 0xfff) + 1, acqs = (this.aqa >>> 16) + 1;
    const pageSize = 4096 * 2 ** ccMps(this.cc);
    const problem =
      ccCss(this.cc) !== 0 ? `CC.CSS ${ccCss(this.cc)} is not the NVM command set` :
      ccMps(this.cc) > MPS_MAX ? `CC.MPS ${ccMps(this.cc)} exceeds CAP.MPSMAX ${MPS_MAX}` :
      ccAms(this.cc) !== 0 ? `CC.AMS ${ccAms(this.cc)}: only round robin is offered` :
      asqs < 2 || acqs < 2 ? `AQA 0x${this.aqa.toString(16)} gives an admin queue of one entry` :
      this.asq % pageSize !== 0 || this.acq % pageSize !== 0 ? `ASQ/ACQ not aligned to the ${pageSize}-byte page` : '';
    if (problem) {
      this.log('guest_errors', `nvme: CC.EN set with ${problem}; controller fatal status`);
      this.cfs = true;
      return;
    }
    this.pageSize = pageSize;
    this.cqs.set(0, { id: 0, base: this.acq, size: acqs, head: 0, tail: 0, phase: 1, ien: true, vector: 0, held: [] });
    this.sqs.set(0, { id: 0, base: this.asq, size: asqs, head: 0, tail: 0, cqid: 0 });
  }

  /** Controller reset (§7.3.2): everything but the admin queue registers and CC returns to its initial state. */
  private reset(): void {
    this.sqs.clear();
    this.cqs.clear();
    this.inflight.clear();
    this.events.reset();
    this.cfs = false;
    this.shst = SHST_NORMAL;
    this.shutdownPending = false;
    this.intms = 0;
    this.features = defaultFeatures();
    this.coalescingDisabled.fill(0);
    this.allocatedSqs = this.allocatedCqs = MAX_IO_QUEUES;
    this.ioQueuesCreated = false;
    this.updateIntx();
  }

  private startShutdown(): void {
    this.shst = SHST_OCCURRING;
    this.shutdownPending = true;
    this.finishShutdownIfIdle();
  }

  private finishShutdownIfIdle(): void {
    if (!this.shutdownPending || this.inflight.size > 0) return;
    this.shutdownPending = false;
    try { this.disk.flush(); } catch (e) {
      this.log('guest_errors', `nvme: ${this.disk.path}: flush at shutdown failed: ${(e as Error).message}`);
    }
    this.shst = SHST_COMPLETE;
  }

  private fatal(why: string): void {
    this.log('guest_errors', `nvme: ${why}; controller fatal status`);
    this.cfs = true;
  }

  // ---- doorbells and command flow ---------------------------------------------------------------

  private doorbell(offset: number, value: number): void {
    const index = (offset - Reg.DOORBELLS) >> 2, qid = index >> 1, isCq = (index & 1) === 1;
    const name = `${isCq ? 'CQ' : 'SQ'} ${qid} ${isCq ? 'head' : 'tail'} doorbell`;
    if (!this.ready) { this.log('guest_errors', `nvme: ${name} written (${value}) while the controller is not ready; ignored`); return; }
    const queue = isCq ? this.cqs.get(qid) : this.sqs.get(qid);
    if (!queue) {
      this.log('guest_errors', `nvme: ${name} written, but queue ${qid} does not exist`);
      this.events.raise(EVENT_INVALID_DOORBELL_REGISTER);
      return;
    }
    // §4.1: an SQ is drained at every doorbell, so any tail inside it is valid; a CQ head may not pass the tail.
    const invalid = value >= queue.size || (isCq && ring(queue.head, value, queue.size) > ring(queue.head, queue.tail, queue.size));
    if (invalid) {
      this.log('guest_errors', `nvme: ${name} written with ${value}, invalid for a queue of ${queue.size} (head ${queue.head}, tail ${queue.tail})`);
      this.events.raise(EVENT_INVALID_DOORBELL_VALUE);
      return;
    }
    if (isCq) {
      const cq = queue as CompletionQueue;
      cq.head = value;
      while (cq.held.length && !this.full(cq)) this.write(cq, cq.held.shift()!);
      this.updateIntx();
    } else {
      const sq = queue as SubmissionQueue;
      sq.tail = value;
      this.fetch(sq);
    }
  }

  /** Takes every entry between head and tail; each gets a clock event for when it completes. */
  private fetch(sq: SubmissionQueue): void {
    while (sq.head !== sq.tail && !this.cfs) {
      const addr = sq.base + sq.head * SQE_BYTES;
      let bytes: Uint8Array;
      try {
        this.checkBusMaster();
        bytes = this.ctx.mem.read(addr, SQE_BYTES);
      } catch (e) {
        if (!(e instanceof DmaError || e instanceof BusMasterOff)) throw e;
        this.fatal(`cannot fetch SQ ${sq.id} entry ${sq.head} at 0x${addr.toString(16)}: ${e.message}`);
        return;
      }
      sq.head = (sq.head + 1) % sq.size;
      const id = this.nextCommand++;
      this.inflight.set(id, { sqid: sq.id, sqe: bytes });
      this.ctx.clock.schedule(this.dueTime(sq.id, new Sqe(bytes)), () => this.finish(id), this.tagPrefix + id);
    }
  }

  private dueTime(sqid: number, sqe: Sqe): number {
    const now = this.ctx.clock.time();
    if (sqid === 0) return now;
    const plan = planIo(this, sqe);
    // Whole nanoseconds: the HDD model's rotation can end between two.
    return 'op' in plan ? Math.ceil(this.timing.complete(now, plan.op, plan.pos, plan.bytes)) : now;
  }

  private finish(id: number): void {
    const cmd = this.inflight.get(id);
    // A reset or an SQ deletion took it back.
    if (!cmd) return;
    this.inflight.delete(id);
    const sqe = new Sqe(cmd.sqe);
    const result = cmd.sqid === 0 ? executeAdmin(this, sqe) : executeIo(this, sqe);
    if (result) this.complete(cmd.sqid, sqe.cid, result);
    this.finishShutdownIfIdle();
  }

  /** Delete I/O SQ (§5.6): its commands still in flight complete first, as aborted. */
  abortCommandsOf(sqid: number): void {
    for (const [id, cmd] of this.inflight) {
      if (cmd.sqid !== sqid) continue;
      this.inflight.delete(id);
      this.complete(sqid, new Sqe(cmd.sqe).cid, { status: Status.ABORTED_SQ_DELETION, dw0: 0 });
    }
  }

  /** Posts a completion to the CQ of `sqid`, with that SQ's head as it is now. */
  private complete(sqid: number, cid: number, c: Completion): void {
    const sq = this.sqs.get(sqid);
    const cq = sq && this.cqs.get(sq.cqid);
    if (!sq || !cq) return;
    const status = c.status === Status.SUCCESS ? 0 : c.status | DNR;
    const e = new Uint8Array(CQE_BYTES);
    const v = new DataView(e.buffer);
    v.setUint32(0, c.dw0 >>> 0, true);
    v.setUint32(8, (sq.head | (sqid << 16)) >>> 0, true);
    v.setUint32(12, (cid | (status << 17)) >>> 0, true);
    if (cq.held.length || this.full(cq)) cq.held.push(e);
    else this.write(cq, e);
  }

  private full(cq: CompletionQueue): boolean { return (cq.tail + 1) % cq.size === cq.head; }

  private write(cq: CompletionQueue, entry: Uint8Array): void {
    const addr = cq.base + cq.tail * CQE_BYTES;
    const e = entry.slice();
    e[14] |= cq.phase;
    try {
      this.checkBusMaster();
      this.ctx.mem.write(addr, e);
    } catch (err) {
      if (!(err instanceof DmaError || err instanceof BusMasterOff)) throw err;
      this.fatal(`cannot post to CQ ${cq.id} entry ${cq.tail} at 0x${addr.toString(16)}: ${err.message}`);
      return;
    }
    cq.tail = (cq.tail + 1) % cq.size;
    if (cq.tail === 0) cq.phase ^= 1;
    if (!cq.ien) return;
    if (!this.msix.notify(cq.vector)) this.updateIntx();
  }

  /** INTA#: while MSI-X is off, any unmasked vector with entries the host has not consumed (§7.5.1). */
  updateIntx(): void {
    let level = false;
    if (!this.msix.enabled) {
      for (const cq of this.cqs.values()) {
        if (cq.ien && cq.head !== cq.tail && !(cq.vector < 32 && (this.intms >>> cq.vector) & 1)) { level = true; break; }
      }
    }
    this.pci.setIntx(level);
  }

  // ---- data transfers -----------------------------------------------------------------------

  /** Bus mastering off: the device's reads and writes go nowhere, as a master abort. */
  private checkBusMaster(): void {
    if (!(this.pci.command & PCI_COMMAND_MASTER)) throw new BusMasterOff();
  }

  /** A command's data to the guest, through its PRPs; the status to complete it with. */
  toGuest(sqe: Sqe, data: Uint8Array): Status { return this.move(sqe, data.length, data).status; }

  fromGuest(sqe: Sqe, length: number): { status: Status; data: Uint8Array | null } { return this.move(sqe, length, null); }

  private move(sqe: Sqe, length: number, data: Uint8Array | null): { status: Status; data: Uint8Array | null } {
    let r;
    try {
      this.checkBusMaster();
      r = transfer(this.ctx.mem, sqe.prp1, sqe.prp2, this.pageSize, length, data);
    } catch (e) {
      if (!(e instanceof DmaError || e instanceof BusMasterOff)) throw e;
      r = { status: Status.DATA_TRANSFER_ERROR, data: null, why: e.message };
    }
    if (r.status !== Status.SUCCESS) this.log('guest_errors', `nvme: command 0x${sqe.opcode.toString(16)} (cid ${sqe.cid}): ${r.why}`);
    return r;
  }

  // ---- machine snapshots ----------------------------------------------------------------------

  save(): StateValue {
    // The configuration header (MSI-X enable and mask bits included) and INTA# are the PCI function's state (pci.ts).
    return {
      version: 1,
      msix: this.msix.save(),
      cc: this.cc, cfs: this.cfs, shst: this.shst, intms: this.intms, aqa: this.aqa, asq: this.asq, acq: this.acq,
      pageSize: this.pageSize,
      sqs: [...this.sqs.values()].map((q) => ({ ...q })),
      cqs: [...this.cqs.values()].map((q) => ({ ...q, held: q.held.map((e) => e.slice()) })),
      inflight: [...this.inflight].map(([id, c]) => ({ id, sqid: c.sqid, sqe: c.sqe.slice() })),
      nextCommand: this.nextCommand,
      shutdownPending: this.shutdownPending,
      features: Object.entries(this.features).map(([fid, v]) => [Number(fid), v]),
      coalescingDisabled: [...this.coalescingDisabled],
      allocatedSqs: this.allocatedSqs, allocatedCqs: this.allocatedCqs, ioQueuesCreated: this.ioQueuesCreated,
      health: { ...this.health },
      events: this.events.save(),
      timing: this.timing.save(),
    };
  }

  restore(state: StateValue): void {
    const s = state as unknown as SavedState;
    if (s.version !== 1) throw new Error(`nvme: saved state version ${s.version}; this model reads version 1`);
    this.msix.restore(s.msix);
    Object.assign(this, {
      cc: s.cc, cfs: s.cfs, shst: s.shst, intms: s.intms, aqa: s.aqa, asq: s.asq, acq: s.acq, pageSize: s.pageSize,
      nextCommand: s.nextCommand, shutdownPending: s.shutdownPending, allocatedSqs: s.allocatedSqs, allocatedCqs: s.allocatedCqs,
      ioQueuesCreated: s.ioQueuesCreated, health: { ...s.health }, coalescingDisabled: [...s.coalescingDisabled],
      features: Object.fromEntries(s.features),
    });
    this.sqs.clear();
    for (const q of s.sqs) this.sqs.set(q.id, { ...q });
    this.cqs.clear();
    for (const q of s.cqs) this.cqs.set(q.id, { ...q, held: q.held.map((e) => e.slice()) });
    this.inflight.clear();
    for (const c of s.inflight) this.inflight.set(c.id, { sqid: c.sqid, sqe: c.sqe.slice() });
    this.events.restore(s.events);
    this.timing.load(s.timing);
  }

  event(tag: string): () => void {
    const id = Number(tag.slice(this.tagPrefix.length));
    if (!tag.startsWith(this.tagPrefix) || !Number.isSafeInteger(id)) throw new Error(`nvme: no event '${tag}'`);
    return () => this.finish(id);
  }
}

interface SavedState {
  version: number;
  msix: StateValue;
  cc: number; cfs: boolean; shst: number; intms: number; aqa: number; asq: number; acq: number; pageSize: number;
  sqs: SubmissionQueue[]; cqs: CompletionQueue[]; inflight: { id: number; sqid: number; sqe: Uint8Array }[];
  nextCommand: number; shutdownPending: boolean; features: [number, number][]; coalescingDisabled: number[];
  allocatedSqs: number; allocatedCqs: number; ioQueuesCreated: boolean; health: Health;
  events: { requests: number[]; queued: number[]; masked: number[] };
  timing: { free: number[]; head: number };
}

/** Entries from `from` to `to` going round a ring of `size`. */
function ring(from: number, to: number, size: number): number { return (to - from + size) % size; }

/** A 64-bit register as a Number, one dword replaced. */
function hiLo(old: number, dword: number, high: boolean): number {
  const lo = old % 2 ** 32, hi = Math.floor(old / 2 ** 32);
  return high ? (dword >>> 0) * 2 ** 32 + lo : hi * 2 ** 32 + (dword >>> 0);
}

export const createNvme: BlockDeviceFactory = (ctx, drive, slot) => new NvmeController(ctx, drive, slot);
