/**
 * NVM Express 1.4 numbers the controller model speaks: register offsets,
 * command opcodes, status codes, and the layout of the two queue entries.
 *
 * Submission queue entry, 64 bytes (NVMe 1.4 §4.2):
 *
 *   dword 0   ┌ CID 31:16 ┬ PSDT 15:14 ┬ FUSE 9:8 ┬ opcode 7:0 ┐
 *   dword 1   NSID
 *   dword 2-3 reserved          dword 4-5 metadata pointer
 *   dword 6-7 PRP entry 1       dword 8-9 PRP entry 2
 *   dword 10-15 command specific (CDW10..CDW15)
 *
 * Completion queue entry, 16 bytes (§4.6):
 *
 *   dword 0   command specific
 *   dword 1   reserved
 *   dword 2   ┌ SQ identifier 31:16 ┬ SQ head pointer 15:0 ┐
 *   dword 3   ┌ DNR 31 ┬ M 30 ┬ CRD 29:28 ┬ SCT 27:25 ┬ SC 24:17 ┬ P 16 ┬ CID 15:0 ┐
 */

/** Controller registers in BAR0 (§3.1). 64-bit registers are two dwords, low first. */
export const enum Reg {
  CAP = 0x00, VS = 0x08, INTMS = 0x0c, INTMC = 0x10, CC = 0x14, CSTS = 0x1c, NSSR = 0x20,
  AQA = 0x24, ASQ = 0x28, ACQ = 0x30, CMBLOC = 0x38, CMBSZ = 0x3c,
  /** SQ y tail doorbell at 0x1000 + 8y, CQ y head doorbell at 0x1004 + 8y (CAP.DSTRD = 0). */
  DOORBELLS = 0x1000,
}

/** CC fields (§3.1.5). */
export const CC_EN = 1;
export const ccCss = (cc: number): number => (cc >>> 4) & 7;
export const ccMps = (cc: number): number => (cc >>> 7) & 0xf;
export const ccAms = (cc: number): number => (cc >>> 11) & 7;
export const ccShn = (cc: number): number => (cc >>> 14) & 3;
export const ccIosqes = (cc: number): number => (cc >>> 16) & 0xf;
export const ccIocqes = (cc: number): number => (cc >>> 20) & 0xf;

/** CSTS fields (§3.1.6). */
export const CSTS_RDY = 1, CSTS_CFS = 2;
export const SHST_NORMAL = 0, SHST_OCCURRING = 1, SHST_COMPLETE = 2;

export const SQE_BYTES = 64, CQE_BYTES = 16;
/** log2 of the entry sizes, as CC.IOSQES/IOCQES and Identify SQES/CQES give them. */
export const SQES = 6, CQES = 4;

export const enum AdminOp {
  DELETE_SQ = 0x00, CREATE_SQ = 0x01, GET_LOG_PAGE = 0x02, DELETE_CQ = 0x04, CREATE_CQ = 0x05,
  IDENTIFY = 0x06, ABORT = 0x08, SET_FEATURES = 0x09, GET_FEATURES = 0x0a, ASYNC_EVENT = 0x0c,
}

export const enum IoOp { FLUSH = 0x00, WRITE = 0x01, READ = 0x02 }

/** Status field values: SCT << 8 | SC (§4.6.1.2). */
export const enum Status {
  SUCCESS = 0x000,
  INVALID_OPCODE = 0x001,
  INVALID_FIELD = 0x002,
  DATA_TRANSFER_ERROR = 0x004,
  ABORTED_SQ_DELETION = 0x008,
  INVALID_NAMESPACE = 0x00b,
  COMMAND_SEQUENCE_ERROR = 0x00c,
  PRP_OFFSET_INVALID = 0x013,
  LBA_OUT_OF_RANGE = 0x080,
  CQ_INVALID = 0x100,
  INVALID_QUEUE_ID = 0x101,
  INVALID_QUEUE_SIZE = 0x102,
  AER_LIMIT_EXCEEDED = 0x105,
  INVALID_VECTOR = 0x108,
  INVALID_LOG_PAGE = 0x109,
  INVALID_QUEUE_DELETION = 0x10c,
  FEATURE_NOT_SAVEABLE = 0x10d,
  WRITE_FAULT = 0x280,
  UNRECOVERED_READ_ERROR = 0x281,
}

/** Do Not Retry (§4.6.1.2): set on every error this model reports; retrying would fail the same way. */
export const DNR = 0x4000;

/** Feature identifiers (§5.21.1). */
export const enum Feature {
  ARBITRATION = 0x01, POWER_MANAGEMENT = 0x02, TEMPERATURE_THRESHOLD = 0x04, ERROR_RECOVERY = 0x05,
  VOLATILE_WRITE_CACHE = 0x06, NUMBER_OF_QUEUES = 0x07, INTERRUPT_COALESCING = 0x08,
  INTERRUPT_VECTOR_CONFIG = 0x09, WRITE_ATOMICITY = 0x0a, ASYNC_EVENT_CONFIG = 0x0b,
}

/** Log page identifiers (§5.14.1). */
export const enum LogPage { ERROR = 0x01, SMART = 0x02, FIRMWARE_SLOT = 0x03 }

/** A submission queue entry's fields. */
export class Sqe {
  constructor(readonly bytes: Uint8Array) {}
  private dw(i: number): number {
    const b = this.bytes, o = 4 * i;
    return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  }
  private qw(i: number): number { return this.dw(i + 1) * 2 ** 32 + this.dw(i); }
  get opcode(): number { return this.bytes[0]; }
  get fuse(): number { return this.bytes[1] & 3; }
  get psdt(): number { return this.bytes[1] >> 6; }
  get cid(): number { return this.bytes[2] | (this.bytes[3] << 8); }
  get nsid(): number { return this.dw(1); }
  get prp1(): number { return this.qw(6); }
  get prp2(): number { return this.qw(8); }
  cdw(n: 10 | 11 | 12 | 13 | 14 | 15): number { return this.dw(n); }
  /** CDW10-11 as one 64-bit value (the starting LBA of Read and Write). */
  get cdw10_11(): number { return this.qw(10); }
}
