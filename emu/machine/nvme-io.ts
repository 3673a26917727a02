/**
 * The NVM command set's Read, Write and Flush (NVMe 1.4 §6.8, §6.9, §6.15)
 * on namespace 1, which is the whole disk in 512-byte blocks. A command is
 * checked when it is fetched — a bad one completes at once, a good one takes
 * its time on the drive (DiskTiming) — and its data moves, and the disk is
 * read or written, when it completes. Write Zeroes, Dataset Management and
 * the other optional commands complete with Invalid Command Opcode.
 *
 *   Read/Write:  CDW10-11 SLBA   CDW12 ┬ LR 31 ┬ FUA 30 ┬ PRINFO 29:26 ┬ NLB 15:0 (0's based)
 */
import type { DiskOp } from './disk-timing.js';
import { Feature, IoOp, Sqe, Status } from './nvme-defs.js';
import { BLOCK } from './nvme-identify.js';
import type { Completion, NvmeController } from './nvme.js';

/** The broadcast NSID: Flush may name every namespace at once (VWC bits 2:1 = 11b). */
const ALL_NAMESPACES = 0xffffffff;
const FUA = 1 << 30;

export type IoPlan = { status: Status } | { status: Status.SUCCESS; op: DiskOp; pos: number; bytes: number };

/** What a command will do to the disk, or the status it fails with. */
export function planIo(c: NvmeController, sqe: Sqe): IoPlan {
  if (sqe.psdt !== 0 || sqe.fuse !== 0) return { status: Status.INVALID_FIELD };
  switch (sqe.opcode) {
    case IoOp.FLUSH:
      if (sqe.nsid !== 1 && sqe.nsid !== ALL_NAMESPACES) return { status: Status.INVALID_NAMESPACE };
      return { status: Status.SUCCESS, op: 'flush', pos: 0, bytes: 0 };
    case IoOp.READ:
    case IoOp.WRITE: {
      if (sqe.nsid !== 1) return { status: Status.INVALID_NAMESPACE };
      const slba = sqe.cdw10_11, blocks = (sqe.cdw(12) & 0xffff) + 1;
      if (blocks * BLOCK > c.maxTransfer) return { status: Status.INVALID_FIELD };
      if (slba + blocks > c.blocks) return { status: Status.LBA_OUT_OF_RANGE };
      return { status: Status.SUCCESS, op: sqe.opcode === IoOp.READ ? 'read' : 'write', pos: slba * BLOCK, bytes: blocks * BLOCK };
    }
    default:
      c.log('unimp', `nvme: I/O opcode 0x${sqe.opcode.toString(16)} not implemented; Invalid Command Opcode`);
      return { status: Status.INVALID_OPCODE };
  }
}

/** Runs a command whose time has come. */
export function executeIo(c: NvmeController, sqe: Sqe): Completion {
  const plan = planIo(c, sqe);
  if (!('op' in plan)) return { status: plan.status, dw0: 0 };
  const disk = c.disk;
  const durable = (sqe.cdw(12) & FUA) !== 0 || c.features[Feature.VOLATILE_WRITE_CACHE] === 0;
  try {
    if (plan.op === 'flush') {
      disk.flush();
    } else if (plan.op === 'read') {
      const data = disk.read(plan.pos, plan.bytes);
      const status = c.toGuest(sqe, data);
      if (status !== Status.SUCCESS) return { status, dw0: 0 };
      c.health.readCommands++;
      c.health.blocksRead += plan.bytes / BLOCK;
    } else {
      const got = c.fromGuest(sqe, plan.bytes);
      if (got.status !== Status.SUCCESS) return { status: got.status, dw0: 0 };
      disk.write(plan.pos, got.data!);
      if (durable) disk.flush();
      c.health.writeCommands++;
      c.health.blocksWritten += plan.bytes / BLOCK;
    }
  } catch (e) {
    // The host's file failed under us: the media error the guest would see from a real drive.
    c.log('guest_errors', `nvme: ${disk.path}: ${plan.op} at byte ${plan.pos} failed: ${(e as Error).message}`);
    return { status: plan.op === 'read' ? Status.UNRECOVERED_READ_ERROR : Status.WRITE_FAULT, dw0: 0 };
  }
  return { status: Status.SUCCESS, dw0: 0 };
}
