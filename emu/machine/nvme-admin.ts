/**
 * The admin command set (NVMe 1.4 §5) as this controller implements it:
 * Identify (CNS 00h, 01h, 02h, 03h), Create/Delete I/O Submission and Completion
 * Queue, Get Log Page (Error Information, SMART / Health, Firmware Slot),
 * Set/Get Features, Abort and Asynchronous Event Request. Each runs when its
 * completion is due and returns the completion (or null: an AER waits for an
 * event). Firmware Commit/Image Download, Namespace Management and the other
 * optional commands complete with Invalid Command Opcode and an `unimp` line.
 */
import { AdminOp, CQES, Feature, LogPage, SQES, Sqe, Status, ccIocqes, ccIosqes } from './nvme-defs.js';
import { activeNamespaces, firmwareSlotLog, identifyController, identifyNamespace, namespaceDescriptors, smartLog } from './nvme-identify.js';
import type { Completion, NvmeController } from './nvme.js';

/** 0's based, as MQES: queues of up to 2048 entries (QEMU's `nvme` says the same). */
export const MQES = 0x7ff;
export const MAX_IO_QUEUES = 64;

const ok = (dw0 = 0): Completion => ({ status: Status.SUCCESS, dw0 });
const fail = (status: Status): Completion => ({ status, dw0: 0 });

export function executeAdmin(c: NvmeController, sqe: Sqe): Completion | null {
  if (sqe.psdt !== 0 || sqe.fuse !== 0) {
    c.log('guest_errors', `nvme: admin command 0x${sqe.opcode.toString(16)} asks for SGLs or fusing, which this controller lacks`);
    return fail(Status.INVALID_FIELD);
  }
  switch (sqe.opcode) {
    case AdminOp.DELETE_SQ: return deleteSq(c, sqe);
    case AdminOp.CREATE_SQ: return createSq(c, sqe);
    case AdminOp.GET_LOG_PAGE: return getLogPage(c, sqe);
    case AdminOp.DELETE_CQ: return deleteCq(c, sqe);
    case AdminOp.CREATE_CQ: return createCq(c, sqe);
    case AdminOp.IDENTIFY: return identify(c, sqe);
    // §5.1: the controller may always decline; every command here is already on its way.
    case AdminOp.ABORT: return ok(1);
    case AdminOp.SET_FEATURES: return setFeatures(c, sqe);
    case AdminOp.GET_FEATURES: return getFeatures(c, sqe);
    case AdminOp.ASYNC_EVENT: return c.events.request(sqe.cid);
    default:
      c.log('unimp', `nvme: admin opcode 0x${sqe.opcode.toString(16)} not implemented; Invalid Command Opcode`);
      return fail(Status.INVALID_OPCODE);
  }
}

// ---- queues (§5.3-§5.7) ---------------------------------------------------------------

function queueId(sqe: Sqe): number { return sqe.cdw(10) & 0xffff; }
/** QSIZE is 0's based; 0 (a one-entry queue) is invalid. */
function queueEntries(sqe: Sqe): number { return (sqe.cdw(10) >>> 16) + 1; }

function checkNewQueue(c: NvmeController, sqe: Sqe, kind: 'SQ' | 'CQ'): Status | null {
  const qid = queueId(sqe), entries = queueEntries(sqe);
  const exists = kind === 'SQ' ? c.sqs.has(qid) : c.cqs.has(qid);
  const allocated = kind === 'SQ' ? c.allocatedSqs : c.allocatedCqs;
  if (qid === 0 || qid > allocated || exists) return Status.INVALID_QUEUE_ID;
  if (entries < 2 || entries > MQES + 1) return Status.INVALID_QUEUE_SIZE;
  // CC.IOSQES/IOCQES must name the one entry size Identify's SQES/CQES allow (§3.1.5).
  const [have, want] = kind === 'SQ' ? [ccIosqes(c.cc), SQES] : [ccIocqes(c.cc), CQES];
  if (have !== want) {
    c.log('guest_errors', `nvme: create I/O ${kind} with CC.IO${kind}ES = ${have}; entries are 2^${want} bytes`);
    return Status.INVALID_QUEUE_SIZE;
  }
  // CAP.CQR: queues must be physically contiguous, and start on a page.
  if ((sqe.cdw(11) & 1) === 0) return Status.INVALID_FIELD;
  if (sqe.prp1 % c.pageSize !== 0) return Status.PRP_OFFSET_INVALID;
  return null;
}

function createCq(c: NvmeController, sqe: Sqe): Completion {
  const bad = checkNewQueue(c, sqe, 'CQ');
  if (bad !== null) return fail(bad);
  const vector = sqe.cdw(11) >>> 16;
  if (vector >= c.msix.vectors) return fail(Status.INVALID_VECTOR);
  c.cqs.set(queueId(sqe), {
    id: queueId(sqe), base: sqe.prp1, size: queueEntries(sqe), head: 0, tail: 0, phase: 1,
    ien: (sqe.cdw(11) & 2) !== 0, vector, held: [],
  });
  c.ioQueuesCreated = true;
  return ok();
}

function createSq(c: NvmeController, sqe: Sqe): Completion {
  const bad = checkNewQueue(c, sqe, 'SQ');
  if (bad !== null) return fail(bad);
  const cqid = sqe.cdw(11) >>> 16;
  if (cqid === 0 || !c.cqs.has(cqid)) return fail(Status.CQ_INVALID);
  c.sqs.set(queueId(sqe), { id: queueId(sqe), base: sqe.prp1, size: queueEntries(sqe), head: 0, tail: 0, cqid });
  c.ioQueuesCreated = true;
  return ok();
}

function deleteSq(c: NvmeController, sqe: Sqe): Completion {
  const qid = queueId(sqe);
  if (qid === 0 || !c.sqs.has(qid)) return fail(Status.INVALID_QUEUE_ID);
  c.abortCommandsOf(qid);
  c.sqs.delete(qid);
  return ok();
}

function deleteCq(c: NvmeController, sqe: Sqe): Completion {
  const qid = queueId(sqe);
  if (qid === 0 || !c.cqs.has(qid)) return fail(Status.INVALID_QUEUE_ID);
  for (const sq of c.sqs.values()) if (sq.cqid === qid) return fail(Status.INVALID_QUEUE_DELETION);
  c.cqs.delete(qid);
  c.updateIntx();
  return ok();
}

// ---- Identify (§5.15) -------------------------------------------------------------------

function identify(c: NvmeController, sqe: Sqe): Completion {
  const cns = sqe.cdw(10) & 0xff;
  const nsid = sqe.nsid;
  let data: Uint8Array;
  switch (cns) {
    case 0x00:
      if (nsid !== 1) return fail(Status.INVALID_NAMESPACE);
      data = identifyNamespace(c.blocks);
      break;
    case 0x01: data = identifyController(c.identity); break;
    case 0x02:
      if (nsid >= 0xfffffffe) return fail(Status.INVALID_NAMESPACE);
      data = activeNamespaces(nsid);
      break;
    case 0x03:
      if (nsid !== 1) return fail(Status.INVALID_NAMESPACE);
      data = namespaceDescriptors(c.identity.serial);
      break;
    default:
      c.log('unimp', `nvme: Identify CNS 0x${cns.toString(16)} not implemented; Invalid Field in Command`);
      return fail(Status.INVALID_FIELD);
  }
  return { status: c.toGuest(sqe, data), dw0: 0 };
}

// ---- Get Log Page (§5.14) ----------------------------------------------------------------

function getLogPage(c: NvmeController, sqe: Sqe): Completion {
  const lid = sqe.cdw(10) & 0xff;
  const retainEvent = (sqe.cdw(10) & 0x8000) !== 0;
  const dwords = ((sqe.cdw(11) & 0xffff) * 0x10000 + (sqe.cdw(10) >>> 16)) + 1;
  const offset = sqe.cdw(13) * 2 ** 32 + sqe.cdw(12);
  if (offset % 4 !== 0) return fail(Status.INVALID_FIELD);
  let page: Uint8Array;
  switch (lid) {
    // No error is recorded (the count of a valid entry is never 0): the page reads as zeros.
    case LogPage.ERROR: page = new Uint8Array(64); break;
    case LogPage.SMART: page = smartLog(c.health); break;
    case LogPage.FIRMWARE_SLOT: page = firmwareSlotLog(c.identity.firmware); break;
    default:
      c.log('unimp', `nvme: log page 0x${lid.toString(16)} not implemented; Invalid Log Page`);
      return fail(Status.INVALID_LOG_PAGE);
  }
  if (offset >= page.length) return fail(Status.INVALID_FIELD);
  // Beyond the page's end the data reads as zeros (§5.14).
  const out = new Uint8Array(dwords * 4);
  out.set(page.subarray(offset, offset + out.length));
  const status = c.toGuest(sqe, out);
  if (status === Status.SUCCESS && !retainEvent) c.events.logRead(lid);
  return { status, dw0: 0 };
}

// ---- Features (§5.21) -----------------------------------------------------------------------

/** Current values of the features Set Features may change, by identifier. */
export type FeatureValues = Record<number, number>;

export function defaultFeatures(): FeatureValues {
  return {
    [Feature.ARBITRATION]: 0,
    [Feature.POWER_MANAGEMENT]: 0,
    [Feature.TEMPERATURE_THRESHOLD]: 0x0157,
    [Feature.ERROR_RECOVERY]: 0,
    [Feature.VOLATILE_WRITE_CACHE]: 1,
    [Feature.INTERRUPT_COALESCING]: 0,
    [Feature.WRITE_ATOMICITY]: 0,
    [Feature.ASYNC_EVENT_CONFIG]: 0,
  };
}

/**
 * Interrupt Coalescing is kept and reported but not acted on: every
 * completion interrupts at once, which meets its time and threshold limits
 * ("should", §5.21.1.8) trivially.
 */
function setFeatures(c: NvmeController, sqe: Sqe): Completion {
  const fid = sqe.cdw(10) & 0xff, value = sqe.cdw(11);
  if (sqe.cdw(10) & 0x80000000) return fail(Status.FEATURE_NOT_SAVEABLE);
  switch (fid) {
    case Feature.NUMBER_OF_QUEUES: {
      const nsqr = value & 0xffff, ncqr = value >>> 16;
      if (nsqr === 0xffff || ncqr === 0xffff) return fail(Status.INVALID_FIELD);
      // Only before the first I/O queue exists (§5.21.1.7).
      if (c.ioQueuesCreated) return fail(Status.COMMAND_SEQUENCE_ERROR);
      c.allocatedSqs = Math.min(nsqr + 1, MAX_IO_QUEUES);
      c.allocatedCqs = Math.min(ncqr + 1, MAX_IO_QUEUES);
      return ok(numberOfQueues(c));
    }
    case Feature.INTERRUPT_VECTOR_CONFIG: {
      const iv = value & 0xffff;
      if (iv >= c.msix.vectors) return fail(Status.INVALID_FIELD);
      c.coalescingDisabled[iv] = (value >>> 16) & 1;
      return ok();
    }
    case Feature.TEMPERATURE_THRESHOLD:
      // Composite temperature (TMPSEL 0), over-temperature threshold (THSEL 0): the one sensor.
      if ((value >>> 16) & 0xff) return fail(Status.INVALID_FIELD);
      c.features[fid] = value & 0xffff;
      return ok();
    case Feature.ARBITRATION: case Feature.POWER_MANAGEMENT: case Feature.ERROR_RECOVERY:
    case Feature.VOLATILE_WRITE_CACHE: case Feature.INTERRUPT_COALESCING: case Feature.WRITE_ATOMICITY:
    case Feature.ASYNC_EVENT_CONFIG:
      if (fid === Feature.POWER_MANAGEMENT && (value & 0x1f) !== 0) return fail(Status.INVALID_FIELD); // power state 0 only
      c.features[fid] = value;
      return ok();
    default:
      c.log('unimp', `nvme: Set Features 0x${fid.toString(16)} not implemented; Invalid Field in Command`);
      return fail(Status.INVALID_FIELD);
  }
}

function getFeatures(c: NvmeController, sqe: Sqe): Completion {
  const fid = sqe.cdw(10) & 0xff, select = (sqe.cdw(10) >>> 8) & 7;
  const known = fid === Feature.NUMBER_OF_QUEUES || fid === Feature.INTERRUPT_VECTOR_CONFIG || fid in c.features;
  if (!known) {
    c.log('unimp', `nvme: Get Features 0x${fid.toString(16)} not implemented; Invalid Field in Command`);
    return fail(Status.INVALID_FIELD);
  }
  // SEL 3: supported capabilities — changeable, neither saveable nor per namespace.
  if (select === 3) return ok(0x4);
  if (select > 3) return fail(Status.INVALID_FIELD);
  // Nothing is saveable, so "saved" (2) reads the default, as "default" (1) does.
  const current = select === 0;
  if (fid === Feature.NUMBER_OF_QUEUES) return ok(current ? numberOfQueues(c) : ((MAX_IO_QUEUES - 1) << 16) | (MAX_IO_QUEUES - 1));
  if (fid === Feature.INTERRUPT_VECTOR_CONFIG) {
    const iv = sqe.cdw(11) & 0xffff;
    if (iv >= c.msix.vectors) return fail(Status.INVALID_FIELD);
    return ok(iv | ((current ? c.coalescingDisabled[iv] : 0) << 16));
  }
  return ok(current ? c.features[fid] : defaultFeatures()[fid]);
}

function numberOfQueues(c: NvmeController): number { return ((c.allocatedCqs - 1) << 16 | (c.allocatedSqs - 1)) >>> 0; }
