/**
 * virtio-blk over the virtio PCI transport against virtio 1.1 (§2.6 split
 * rings, §3.1 initialisation, §4.1 PCI, §5.2 block) and QEMU 7.2's layout,
 * driven through configuration space, the BARs and guest RAM only.
 */
import { describe, expect, it } from 'vitest';
import { HDD_DEFAULTS, SSD_DEFAULTS, DiskTiming } from '../../emu/machine/disk-timing.js';
import { VirtualClock } from '../../emu/machine/clock.js';
import type { StateValue } from '../../emu/machine/state.js';
import {
  BUF, C, DESC_INDIRECT, DESC_NEXT, DESC_WRITE, F, IO, MSIX, MemDisk, RING, Ring, S, SECTOR, T,
  bench, common, devcfg, enableMsix, header, isr, modernInit, notify, type Bench,
} from './virtio-harness.js';

const bit = (n: number): bigint => 1n << BigInt(n);
const MODERN_FEATURES = bit(F.VERSION_1) | bit(F.FLUSH) | bit(F.BLK_SIZE);

/** A disk whose sector n is filled with byte (n & 0xff) ^ 0x5a. */
function patterned(bytes = 1 << 20): MemDisk {
  const d = new MemDisk(bytes);
  for (let s = 0; s < bytes / SECTOR; s++) d.bytes.fill((s & 0xff) ^ 0x5a, s * SECTOR, (s + 1) * SECTOR);
  return d;
}

/** Submits header + data buffers + status as one chain; returns its head. */
function request(b: Bench, ring: Ring, type: number, sector: number, data: { len: number; write: boolean }[], at = BUF): { head: number; status: number; data: number[] } {
  const h = header(b, at, type, sector);
  let next = at + 0x100;
  const bufs = data.map((d) => { const addr = next; next += (d.len + 0xfff) & ~0xfff; return { addr, len: d.len, write: d.write }; });
  const status = next;
  b.mem.setU8(status, 0xff);
  const head = ring.chain([h, ...bufs, { addr: status, len: 1, write: true }]);
  ring.publish(head);
  return { head, status, data: bufs.map((x) => x.addr) };
}

describe('PCI identity and layout, as QEMU 7.2 shows them', () => {
  // Read from QEMU 7.2 (`-drive if=virtio` on `pc`, before SeaBIOS) with test/machine/virtio-blk-qemu.py.
  const QEMU_CONFIG = `
    f4 1a 01 10 00 00 10 00 00 00 00 01 00 00 00 00  01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    0c 00 00 00 00 00 00 00 00 00 00 00 f4 1a 02 00  00 00 00 00 98 00 00 00 00 00 00 00 00 01 00 00
    09 00 10 01 04 00 00 00 00 00 00 00 00 10 00 00  09 40 10 03 04 00 00 00 00 10 00 00 00 10 00 00
    09 50 10 04 04 00 00 00 00 20 00 00 00 10 00 00  09 60 14 02 04 00 00 00 00 30 00 00 00 10 00 00
    04 00 00 00 09 70 14 05 00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 11 84 01 00 01 00 00 00
    01 08 00 00`.trim().split(/\s+/).map((x) => parseInt(x, 16));

  it('has QEMU\'s configuration header and capability list byte for byte (BARs unassigned)', () => {
    const b = bench();
    const fn = b.dev.pci;
    // Undo the bench's BAR placement and command, to compare with QEMU before its firmware ran.
    for (const off of [0x10, 0x14, 0x20]) fn.writeConfig(off, 4, 0);
    fn.writeConfig(0x04, 2, 0);
    const got = Array.from({ length: QEMU_CONFIG.length }, (_, i) => fn.readConfig(i, 1));
    expect(got.map((x) => x.toString(16))).toEqual(QEMU_CONFIG.map((x) => x.toString(16)));
  });

  it('sizes its BARs as QEMU: 128 bytes of I/O, 4 KiB and 16 KiB (64-bit, prefetchable) of memory', () => {
    const fn = bench().dev.pci;
    const size = (off: number): number => { fn.writeConfig(off, 4, 0xffffffff); return fn.readConfig(off, 4); };
    expect(size(0x10)).toBe(0xffffff81);
    expect(size(0x14)).toBe(0xfffff000);
    expect(size(0x20)).toBe(0xffffc00c);
    expect(size(0x24)).toBe(0xffffffff);
  });
});

describe('feature negotiation (§2.2, §3.1.1, §4.1.4.8)', () => {
  it('offers VERSION_1 only through the modern interface, and ANY_LAYOUT only through the legacy one', () => {
    const b = bench();
    const modern = [0, 1].map((sel) => { common.write(b, C.dfselect, 4, sel); return common.read(b, C.df, 4); });
    const offered = BigInt(modern[0]) | (BigInt(modern[1]) << 32n);
    expect(offered).toBe(bit(F.SEG_MAX) | bit(F.BLK_SIZE) | bit(F.FLUSH) | bit(F.INDIRECT) | bit(F.EVENT_IDX) | bit(F.VERSION_1));
    expect(BigInt(b.ports.read(IO, 4))).toBe(bit(F.SEG_MAX) | bit(F.BLK_SIZE) | bit(F.FLUSH) | bit(F.INDIRECT) | bit(F.EVENT_IDX) | bit(F.ANY_LAYOUT));
    common.write(b, C.dfselect, 4, 2);
    expect(common.read(b, C.df, 4)).toBe(0);
  });

  it('keeps FEATURES_OK clear when the driver did not accept VERSION_1 through the modern interface', () => {
    const b = bench();
    common.write(b, C.status, 1, S.ACK | S.DRIVER);
    common.write(b, C.gfselect, 4, 0);
    common.write(b, C.gf, 4, 1 << F.FLUSH);
    common.write(b, C.status, 1, S.ACK | S.DRIVER | S.FEATURES_OK);
    expect(common.read(b, C.status, 1)).toBe(S.ACK | S.DRIVER);
    expect(b.logs.join('\n')).toMatch(/FEATURES_OK refused: VERSION_1 not accepted/);
  });

  it('keeps FEATURES_OK clear when the driver accepted a feature that was not offered', () => {
    const b = bench();
    common.write(b, C.status, 1, S.ACK | S.DRIVER);
    common.write(b, C.gfselect, 4, 1);
    common.write(b, C.gf, 4, 1);
    common.write(b, C.gfselect, 4, 0);
    common.write(b, C.gf, 4, 1 << 13); // DISCARD
    common.write(b, C.status, 1, S.ACK | S.DRIVER | S.FEATURES_OK);
    expect(common.read(b, C.status, 1) & S.FEATURES_OK).toBe(0);
    expect(b.logs.join('\n')).toMatch(/features 0x2000 that were not offered/);
  });

  it('accepts an offered subset with VERSION_1, reads it back, and freezes it after FEATURES_OK', () => {
    const b = bench();
    modernInit(b, { features: MODERN_FEATURES | bit(F.EVENT_IDX) });
    expect(common.read(b, C.status, 1)).toBe(S.ACK | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
    common.write(b, C.gfselect, 4, 0);
    expect(common.read(b, C.gf, 4)).toBe((1 << F.FLUSH) | (1 << F.BLK_SIZE) | (1 << F.EVENT_IDX));
    common.write(b, C.gf, 4, 0);
    expect(common.read(b, C.gf, 4)).toBe((1 << F.FLUSH) | (1 << F.BLK_SIZE) | (1 << F.EVENT_IDX));
    expect(b.logs.join('\n')).toMatch(/driver features written after FEATURES_OK/);
  });
});

describe('queue setup (§4.1.4.3) and device configuration (§5.2.4)', () => {
  it('reports one queue of at most 256 entries with notify offset 0, unmapped vectors, and takes a smaller power of two', () => {
    const b = bench();
    expect(common.read(b, C.numq, 2)).toBe(1);
    expect(common.read(b, C.qsize, 2)).toBe(256);
    expect(common.read(b, C.qnotify, 2)).toBe(0);
    expect(common.read(b, C.qmsix, 2)).toBe(0xffff);
    expect(common.read(b, C.msix, 2)).toBe(0xffff);
    common.write(b, C.qsize, 2, 100);
    expect(common.read(b, C.qsize, 2)).toBe(256);
    common.write(b, C.qsize, 2, 64);
    expect(common.read(b, C.qsize, 2)).toBe(64);
    common.write(b, C.qdesc, 4, 0x12345000);
    common.write(b, C.qdesc + 4, 4, 0x1);
    expect([common.read(b, C.qdesc, 4), common.read(b, C.qdesc + 4, 4)]).toEqual([0x12345000, 1]);
    common.write(b, C.qsel, 2, 1);
    expect(common.read(b, C.qsize, 2)).toBe(0);
  });

  it('gives each CPU a queue, as QEMU 7.2 does: VIRTIO_BLK_F_MQ, num_queues, a notify offset and an MSI-X vector per queue', () => {
    const one = bench();
    common.write(one, C.dfselect, 4, 0);
    expect(common.read(one, C.df, 4) & (1 << 12)).toBe(0);
    const b = bench({ cpus: 4 });
    common.write(b, C.dfselect, 4, 0);
    expect(common.read(b, C.df, 4) & (1 << 12)).toBe(1 << 12);
    expect(common.read(b, C.numq, 2)).toBe(4);
    expect(devcfg(b, 34, 2)).toBe(4);
    for (const q of [1, 3]) {
      common.write(b, C.qsel, 2, q);
      expect([common.read(b, C.qsize, 2), common.read(b, C.qnotify, 2)]).toEqual([256, q]);
    }
    common.write(b, C.qsel, 2, 4);
    expect(common.read(b, C.qsize, 2)).toBe(0);
    expect(b.dev.pci.readConfig(b.dev.transport.msix.cap + 2, 2) & 0x7ff).toBe(4);
  });

  it('ignores changes to an enabled queue', () => {
    const b = bench();
    modernInit(b);
    common.write(b, C.qsize, 2, 4);
    expect(common.read(b, C.qsize, 2)).toBe(8);
    expect(common.read(b, C.qenable, 2)).toBe(1);
    expect(b.logs.join('\n')).toMatch(/reconfigured while enabled/);
  });

  it('shows capacity, seg_max and blk_size; beyond the structure reads all ones as on QEMU', () => {
    const b = bench({ diskBytes: 3 << 20 });
    expect(devcfg(b, 0, 4)).toBe(6144);
    expect(devcfg(b, 4, 4)).toBe(0);
    expect(devcfg(b, 12, 4)).toBe(254);
    expect(devcfg(b, 20, 4)).toBe(512);
    expect(devcfg(b, 34, 2)).toBe(1);
    expect(devcfg(b, 36, 4)).toBe(0xffffffff);
  });

  it('maps only vectors the MSI-X table has; others read back NO_VECTOR (§4.1.5.1.2)', () => {
    const b = bench();
    common.write(b, C.msix, 2, 1);
    expect(common.read(b, C.msix, 2)).toBe(1);
    common.write(b, C.qmsix, 2, 2);
    expect(common.read(b, C.qmsix, 2)).toBe(0xffff);
  });

  it('refuses accesses that are not a field\'s natural width (§4.1.3.1)', () => {
    const b = bench();
    expect(common.read(b, C.numq, 4)).toBe(0);
    expect(b.logs.join('\n')).toMatch(/4-byte read at common cfg 0x12 is not a field/);
  });
});

/** A flush completed on queue 0 while its MSI-X vector 0 is masked: the message is pending. */
function completedWithVectorMasked(): Bench {
  const b = bench();
  enableMsix(b);
  b.mmio.write(MSIX + 12, 4, 1);
  const ring = modernInit(b, { queueVector: 0 });
  request(b, ring, T.FLUSH, 0, []);
  notify(b, 0);
  b.clock.advanceTo(0);
  return b;
}

describe('requests (§5.2.6)', () => {
  it('reads sectors into a buffer split over two descriptors, with status OK and the written length in the used ring', () => {
    const b = bench({ disk: patterned() });
    const ring = modernInit(b);
    const r = request(b, ring, T.IN, 3, [{ len: 512, write: true }, { len: 1024, write: true }]);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.mem.u8(r.status)).toBe(0);
    expect(ring.used()).toEqual([[r.head, 1537]]);
    expect(b.mem.read(r.data[0], 512).every((x) => x === (3 ^ 0x5a))).toBe(true);
    expect(b.mem.read(r.data[1], 512).every((x) => x === (4 ^ 0x5a))).toBe(true);
    expect(b.mem.read(r.data[1] + 512, 512).every((x) => x === (5 ^ 0x5a))).toBe(true);
  });

  it('writes to the disk at completion time, not before', () => {
    const b = bench({ timing: SSD_DEFAULTS });
    const ring = modernInit(b);
    b.mem.fill(BUF + 0x100, 1024, 0xab);
    const h = header(b, BUF, T.OUT, 10);
    const head = ring.chain([h, { addr: BUF + 0x100, len: 1024 }, { addr: BUF + 0x800, len: 1, write: true }]);
    ring.publish(head);
    notify(b, 0);
    const done = 30e3 + 1024 * 2; // SSD: 30 µs + 1024 bytes at 500 MB/s
    b.clock.advanceTo(done - 1);
    expect(b.disk.bytes[10 * SECTOR]).toBe(0);
    expect(ring.used()).toEqual([]);
    b.clock.advanceTo(done);
    expect(b.disk.bytes.subarray(10 * SECTOR, 12 * SECTOR).every((x) => x === 0xab)).toBe(true);
    expect(b.mem.u8(BUF + 0x800)).toBe(0);
    expect(ring.used()).toEqual([[head, 1]]);
  });

  it('flushes the disk', () => {
    const b = bench();
    const ring = modernInit(b);
    const r = request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.disk.flushes).toBe(1);
    expect(b.mem.u8(r.status)).toBe(0);
  });

  it('GET_ID gives the serial number NUL-padded to 20 bytes', () => {
    const b = bench({ serial: 'DFLY-serial' });
    const ring = modernInit(b);
    b.mem.fill(BUF + 0x100, 0x1000, 0xee);
    const r = request(b, ring, T.GET_ID, 0, [{ len: 20, write: true }]);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.mem.u8(r.status)).toBe(0);
    expect(Array.from(b.mem.read(r.data[0], 21))).toEqual([...Buffer.from('DFLY-serial'), ...new Array(9).fill(0), 0xee]);
  });

  it('answers an unknown type UNSUPP, logged once', () => {
    const b = bench();
    const ring = modernInit(b);
    const r1 = request(b, ring, 11, 0, [{ len: 16, write: false }]);
    notify(b, 0);
    const r2 = request(b, ring, 11, 0, [{ len: 16, write: false }], BUF + 0x10000);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect([b.mem.u8(r1.status), b.mem.u8(r2.status)]).toEqual([2, 2]);
    expect(b.logs.filter((l) => /type 11 is not supported/.test(l))).toHaveLength(1);
  });

  it('answers IOERR for a transfer past the end or not a whole number of sectors, and leaves the disk alone', () => {
    const b = bench({ diskBytes: 64 * SECTOR });
    const ring = modernInit(b, { size: 16 });
    const past = request(b, ring, T.OUT, 63, [{ len: 1024, write: false }]);
    const partial = request(b, ring, T.IN, 0, [{ len: 100, write: true }], BUF + 0x10000);
    const huge = request(b, ring, T.IN, 2 ** 40, [{ len: 512, write: true }], BUF + 0x20000);
    b.mem.fill(past.data[0], 1024, 0x77);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect([past, partial, huge].map((r) => b.mem.u8(r.status))).toEqual([1, 1, 1]);
    expect(b.disk.bytes.every((x) => x === 0)).toBe(true);
  });

  it('takes the header, data and status in any layout (one descriptor for header and data)', () => {
    const b = bench({ disk: patterned() });
    const ring = modernInit(b);
    header(b, BUF, T.OUT, 7);
    b.mem.fill(BUF + 16, 512, 0x31);
    const head = ring.chain([{ addr: BUF, len: 16 + 512 }, { addr: BUF + 0x1000, len: 1, write: true }]);
    ring.publish(head);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.mem.u8(BUF + 0x1000)).toBe(0);
    expect(b.disk.bytes.subarray(7 * SECTOR, 8 * SECTOR).every((x) => x === 0x31)).toBe(true);
  });
});

describe('indirect descriptors (§2.6.5.3)', () => {
  const TABLE = 0x30000;

  it('follows an indirect table when VIRTIO_F_RING_INDIRECT_DESC was negotiated', () => {
    const b = bench({ disk: patterned() });
    const ring = modernInit(b, { features: MODERN_FEATURES | bit(F.INDIRECT) });
    header(b, BUF, T.IN, 2);
    ring.desc(0, BUF, 16, DESC_NEXT, 1, TABLE);
    ring.desc(1, BUF + 0x1000, 512, DESC_WRITE | DESC_NEXT, 2, TABLE);
    ring.desc(2, BUF + 0x2000, 1, DESC_WRITE, 0, TABLE);
    ring.desc(5, TABLE, 48, DESC_INDIRECT, 0);
    ring.publish(5);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.mem.u8(BUF + 0x2000)).toBe(0);
    expect(b.mem.u8(BUF + 0x1000)).toBe(2 ^ 0x5a);
    expect(ring.used()).toEqual([[5, 513]]);
  });

  it.each([
    ['without the feature', MODERN_FEATURES, 48, DESC_INDIRECT, /INDIRECT, but VIRTIO_F_RING_INDIRECT_DESC was not negotiated/],
    ['with a length not a multiple of 16', MODERN_FEATURES | bit(F.INDIRECT), 40, DESC_INDIRECT, /not a whole number of descriptors/],
    ['with NEXT as well', MODERN_FEATURES | bit(F.INDIRECT), 48, DESC_INDIRECT | DESC_NEXT, /both INDIRECT and NEXT/],
  ])('an indirect descriptor %s needs a reset', (_, features, len, flags, why) => {
    const b = bench();
    const ring = modernInit(b, { features });
    ring.desc(0, TABLE, len, flags, 1);
    ring.publish(0);
    notify(b, 0);
    expect(common.read(b, C.status, 1) & S.NEEDS_RESET).toBe(S.NEEDS_RESET);
    expect(b.logs.join('\n')).toMatch(why);
  });

  it('an indirect table that itself holds an INDIRECT descriptor needs a reset', () => {
    const b = bench();
    const ring = modernInit(b, { features: MODERN_FEATURES | bit(F.INDIRECT) });
    ring.desc(0, TABLE + 0x100, 16, DESC_INDIRECT, 0, TABLE);
    ring.desc(0, TABLE, 16, DESC_INDIRECT, 0);
    ring.publish(0);
    notify(b, 0);
    expect(b.logs.join('\n')).toMatch(/of an indirect table is itself INDIRECT/);
  });
});

describe('malformed rings need a reset (§2.1.2, §2.6.5)', () => {
  const cases: [string, (b: Bench, ring: Ring) => void, RegExp][] = [
    ['a chain that loops', (b, ring) => { ring.desc(0, BUF, 16, DESC_NEXT, 1); ring.desc(1, BUF, 16, DESC_NEXT, 0); ring.publish(0); }, /loops/],
    ['a next index beyond the table', (b, ring) => { ring.desc(0, BUF, 16, DESC_NEXT, 8); ring.publish(0); }, /links to 8, beyond the 8-entry table/],
    ['a head beyond the table', (b, ring) => { ring.publish(9); }, /chain head 9 is beyond/],
    ['a readable descriptor after a writable one', (b, ring) => { ring.desc(0, BUF, 16, DESC_WRITE | DESC_NEXT, 1); ring.desc(1, BUF, 16, 0, 0); ring.publish(0); }, /readable descriptor follows a device-writable/],
    ['the available index jumping by more than the ring', (b) => { b.mem.setU16(RING.avail + 2, 9); }, /moved from 0 to 9/],
    ['a request without a status byte', (b, ring) => { header(b, BUF, T.IN, 0); ring.desc(0, BUF, 16, 0, 0); ring.publish(0); }, /needs a 16-byte header and a status byte/],
    ['a descriptor table outside RAM', (b) => {
      common.write(b, C.status, 1, 0);
      modernInit(b, { configVector: 1, queueVector: 0, rings: { ...RING, desc: 0x7ffff000 } });
      b.mem.setU16(RING.avail + 2, 1);
    }, /outside RAM/],
  ];

  for (const [what, make, why] of cases) {
    it(`${what}: DEVICE_NEEDS_RESET, a guest_errors line, a configuration interrupt, nothing more until reset`, () => {
      const b = bench();
      enableMsix(b);
      const ring = modernInit(b, { configVector: 1, queueVector: 0 });
      make(b, ring);
      notify(b, 0);
      expect(common.read(b, C.status, 1) & S.NEEDS_RESET).toBe(S.NEEDS_RESET);
      expect(b.logs.filter((l) => l.startsWith('guest_errors:')).join('\n')).toMatch(why);
      expect(b.msis).toEqual([[0xfee00000, 0x41]]);
      // Later requests are not looked at until the driver resets the device.
      request(b, ring, T.FLUSH, 0, [], BUF + 0x20000);
      notify(b, 0);
      b.clock.advanceTo(1e9);
      expect(ring.usedIdx).toBe(0);
      common.write(b, C.status, 1, 0);
      expect(common.read(b, C.status, 1)).toBe(0);
    });
  }

  it('a buffer outside RAM found at completion needs a reset too', () => {
    const b = bench();
    const ring = modernInit(b);
    const h = header(b, BUF, T.IN, 0);
    ring.publish(ring.chain([h, { addr: 0x7ffff000, len: 512, write: true }, { addr: BUF + 0x100, len: 1, write: true }]));
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(common.read(b, C.status, 1) & S.NEEDS_RESET).toBe(S.NEEDS_RESET);
    expect(ring.usedIdx).toBe(0);
  });
});

describe('interrupts (§4.1.4.5, §4.1.5.3)', () => {
  it('without MSI-X: ISR bit 0 and INTx# high on completion; reading the ISR returns it, clears it and drops the line', () => {
    const b = bench();
    const ring = modernInit(b);
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    expect(b.line).toBe(false);
    b.clock.advanceTo(0);
    expect(b.line).toBe(true);
    expect(b.dev.pci.readConfig(0x06, 1) & 0x08).toBe(0x08);
    expect(isr(b)).toBe(1);
    expect(b.line).toBe(false);
    expect(isr(b)).toBe(0);
    expect(b.msis).toEqual([]);
  });

  it('with MSI-X: the queue\'s vector, the ISR untouched, INTx# never raised; NO_VECTOR means no interrupt', () => {
    const b = bench();
    enableMsix(b);
    const ring = modernInit(b, { queueVector: 0, configVector: 1 });
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(b.msis).toEqual([[0xfee00000, 0x40]]);
    expect(isr(b)).toBe(0);
    expect(b.intx.includes(true)).toBe(false);
    common.write(b, C.qmsix, 2, 0xffff);
    request(b, ring, T.FLUSH, 0, [], BUF + 0x10000);
    notify(b, 0);
    b.clock.advanceTo(1);
    expect(ring.used()).toHaveLength(2);
    expect(b.msis).toHaveLength(1);
  });

  it('NO_INTERRUPT suppresses the interrupt when EVENT_IDX is not negotiated (§2.6.7)', () => {
    const b = bench();
    const ring = modernInit(b);
    ring.availFlags = 1;
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(ring.used()).toHaveLength(1);
    expect(b.line).toBe(false);
  });

  it('with EVENT_IDX: interrupts only when used idx passes used_event, keeps avail_event at the next entry, ignores NO_INTERRUPT', () => {
    const b = bench({ timing: HDD_DEFAULTS });
    enableMsix(b);
    const ring = modernInit(b, { features: MODERN_FEATURES | bit(F.EVENT_IDX), queueVector: 0 });
    ring.availFlags = 1;
    ring.usedEvent = 2; // interrupt when entry 2 (the third) is used
    for (let i = 0; i < 4; i++) request(b, ring, T.FLUSH, 0, [], BUF + i * 0x10000);
    notify(b, 0);
    expect(ring.availEvent).toBe(4);
    const seen: [number, number][] = [];
    for (let n = 0; n < 4; n++) {
      b.clock.advanceTo(b.clock.nextDue());
      seen.push([ring.usedIdx, b.msis.length]);
    }
    expect(seen).toEqual([[1, 0], [2, 0], [3, 1], [4, 1]]);
    expect(b.msis).toEqual([[0xfee00000, 0x40]]);
  });

  it('a masked vector is held pending and delivered when unmasked', () => {
    const b = completedWithVectorMasked();
    expect(b.msis).toEqual([]);
    expect(b.mmio.read(MSIX + 0x800, 4)).toBe(1);
    b.mmio.write(MSIX + 12, 4, 0);
    expect(b.msis).toEqual([[0xfee00000, 0x40]]);
  });
});

describe('configuration change notifications (§4.1.5.4)', () => {
  it('without MSI-X, DEVICE_NEEDS_RESET sets ISR bit 1 and raises INTx# until the ISR is read', () => {
    const b = bench();
    const ring = modernInit(b);
    ring.publish(9);
    notify(b, 0);
    expect(b.line).toBe(true);
    expect(isr(b)).toBe(2);
    expect(b.line).toBe(false);
  });
});

describe('reset (§2.1.2, §4.1.4.3.2)', () => {
  it('writing status 0 forgets features, queues and vectors, drops requests in flight and lowers INTx#', () => {
    const b = bench({ timing: HDD_DEFAULTS });
    const ring = modernInit(b, { queueVector: 0 });
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    common.write(b, C.status, 1, 0);
    b.clock.advanceTo(1e9);
    expect(ring.usedIdx).toBe(0);
    expect(b.disk.flushes).toBe(0);
    expect(common.read(b, C.status, 1)).toBe(0);
    common.write(b, C.gfselect, 4, 1);
    expect(common.read(b, C.gf, 4)).toBe(0);
    expect([common.read(b, C.qsize, 2), common.read(b, C.qenable, 2), common.read(b, C.qmsix, 2), common.read(b, C.qdesc, 4)]).toEqual([256, 0, 0xffff, 0]);
    expect(b.line).toBe(false);
  });

  it('the device works again after a reset and a new initialisation', () => {
    const b = bench();
    modernInit(b);
    common.write(b, C.status, 1, 0);
    const ring = modernInit(b);
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(0);
    expect(ring.used()).toHaveLength(1);
  });

  it('leaves buffers made available before DRIVER_OK alone, and takes them when it is set (§3.1.1)', () => {
    const b = bench();
    const ring = modernInit(b, { driverOk: false });
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(1e6);
    expect(ring.usedIdx).toBe(0);
    common.write(b, C.status, 1, S.ACK | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
    b.clock.advanceTo(2e6);
    expect(ring.used()).toHaveLength(1);
  });
});

describe('latency on the virtual clock (disk-timing.ts)', () => {
  it('completes each request when the drive\'s timing model says, in order of arrival', () => {
    const b = bench({ timing: HDD_DEFAULTS, diskBytes: 64 << 20 });
    enableMsix(b);
    const ring = modernInit(b, { queueVector: 0, size: 16 });
    const model = new DiskTiming(HDD_DEFAULTS, 64 << 20);
    const plan: [number, number, number][] = [[T.IN, 100_000, 4096], [T.OUT, 5, 512], [T.IN, 60_000, 65536], [T.FLUSH, 0, 0]];
    b.clock.advanceTo(1000);
    const expected = plan.map(([type, sector, len], i) => {
      request(b, ring, type, sector, len ? [{ len, write: type === T.IN }] : [], BUF + i * 0x20000);
      return model.complete(1000, type === T.IN ? 'read' : type === T.OUT ? 'write' : 'flush', sector * SECTOR, len);
    });
    notify(b, 0);
    const times: number[] = [];
    for (let n = 0; n < 4; n++) {
      const t = b.clock.nextDue();
      b.clock.advanceTo(t);
      times.push(t);
      expect(ring.used()).toHaveLength(1);
    }
    expect(times).toEqual(expected);
    expect(times[0] - 1000).toBeGreaterThan(HDD_DEFAULTS.settle);
    expect(b.msis).toHaveLength(4);
  });
});

describe('the legacy interface (§4.1.4.8)', () => {
  it('runs a queue from its page number, with the device config at 0x14 — or 0x18 once MSI-X is on', () => {
    const b = bench({ disk: patterned() });
    const legacy = { read: (o: number, s: 1 | 2 | 4) => b.ports.read(IO + o, s), write: (o: number, s: 1 | 2 | 4, v: number) => b.ports.write(IO + o, s, v) };
    expect(legacy.read(0x14, 4)).toBe(2048);
    enableMsix(b);
    expect(legacy.read(0x18, 4)).toBe(2048);
    expect(legacy.read(0x14, 2)).toBe(0xffff);
    legacy.write(0x12, 1, S.ACK | S.DRIVER);
    legacy.write(0x04, 4, 1 << F.FLUSH);
    expect(legacy.read(0x0c, 2)).toBe(256);
    legacy.write(0x14, 2, 1);
    legacy.write(0x16, 2, 0);
    expect([legacy.read(0x14, 2), legacy.read(0x16, 2)]).toEqual([1, 0]);
    const base = 0x40000;
    b.mem.fill(base, 0x3000, 0);
    legacy.write(0x08, 4, base / 4096);
    expect(legacy.read(0x08, 4)).toBe(base / 4096);
    legacy.write(0x12, 1, S.ACK | S.DRIVER | S.DRIVER_OK);
    // 256 descriptors, the available ring right after them, the used ring on the next page.
    const ring = new Ring(b, 256, { desc: base, avail: base + 4096, used: base + 8192 });
    const r = request(b, ring, T.IN, 9, [{ len: 512, write: true }]);
    legacy.write(0x10, 2, 0);
    b.clock.advanceTo(0);
    expect(b.mem.u8(r.status)).toBe(0);
    expect(b.mem.u8(r.data[0])).toBe(9 ^ 0x5a);
    expect(ring.used()).toEqual([[r.head, 513]]);
    expect(b.msis).toEqual([[0xfee00000, 0x40]]);
  });

  it('sets Bus Master Enable on DRIVER_OK for drivers that forget it, as QEMU does', () => {
    const b = bench();
    b.dev.pci.writeConfig(0x04, 2, 0x3);
    b.ports.write(IO + 0x12, 1, S.ACK | S.DRIVER | S.DRIVER_OK);
    expect(b.dev.pci.readConfig(0x04, 2) & 0x4).toBe(0x4);
  });

  it('the modern interface does not: a notification with bus mastering off is ignored and logged', () => {
    const b = bench();
    const ring = modernInit(b);
    b.dev.pci.writeConfig(0x04, 2, 0x3);
    request(b, ring, T.FLUSH, 0, []);
    notify(b, 0);
    b.clock.advanceTo(1e6);
    expect(ring.usedIdx).toBe(0);
    expect(b.logs.join('\n')).toMatch(/bus mastering off/);
  });
});

describe('the PCI configuration access capability (§4.1.4.7)', () => {
  it('reads and writes the modern structures through configuration space', () => {
    const b = bench();
    const fn = b.dev.pci;
    const cap = 0x84;
    fn.writeConfig(cap + 4, 1, 4);
    fn.writeConfig(cap + 8, 4, 0x2000);
    fn.writeConfig(cap + 12, 4, 4);
    expect(fn.readConfig(cap + 16, 4)).toBe(2048);
    fn.writeConfig(cap + 8, 4, C.qsel);
    fn.writeConfig(cap + 12, 4, 2);
    fn.writeConfig(cap + 16, 2, 1);
    expect(common.read(b, C.qsel, 2)).toBe(1);
  });
});

describe('snapshots (state.ts)', () => {
  /** Runs a device with requests in flight; at `cut` saves it into a fresh device and lets both go on. */
  function run(cut: number | null): { trace: string[]; disk: Uint8Array; ram: Uint8Array } {
    let b = bench({ timing: HDD_DEFAULTS, disk: patterned(16 << 20) });
    const trace: string[] = [];
    enableMsix(b);
    const ring = modernInit(b, { features: MODERN_FEATURES | bit(F.EVENT_IDX) | bit(F.INDIRECT), queueVector: 0, size: 16 });
    for (let i = 0; i < 6; i++) {
      const type = i % 3 === 2 ? T.OUT : T.IN;
      const r = request(b, ring, type, 1000 * i * i, [{ len: 4096 * (i + 1), write: type === T.IN }], BUF + i * 0x10000);
      if (type === T.OUT) b.mem.fill(r.data[0], 4096 * (i + 1), i + 1);
      if (i === 2) notify(b, 0);
    }
    notify(b, 0);
    for (let step = 0; step < 6; step++) {
      const t = b.clock.nextDue();
      if (cut !== null && step === cut) {
        const state: StateValue = b.dev.save();
        const config = b.dev.pci.save();
        const pending = b.clock.pending().map((e) => [e.at, e.seq, e.tag!] as const);
        const clock = new VirtualClock();
        clock.restore(b.clock.save());
        const fresh = bench({ timing: HDD_DEFAULTS, disk: b.disk, phys: b.phys, clock });
        fresh.dev.pci.restore(config);
        fresh.dev.restore(state);
        for (const [at, seq, tag] of pending) fresh.dev.adopt(tag, clock.reinsert(at, seq, tag, fresh.dev.event(tag)));
        fresh.msis.push(...b.msis);
        b = fresh;
      }
      b.clock.advanceTo(t);
      trace.push(`${t}: used ${JSON.stringify(ring.used())} msis ${b.msis.length}`);
    }
    return { trace, disk: b.disk.bytes, ram: b.phys.bytes.slice(BUF, BUF + 0x60000) };
  }

  it('keeps a masked MSI-X vector\'s pending bit and the table across save → restore', () => {
    const b = completedWithVectorMasked();
    const fresh = bench({ phys: b.phys });
    fresh.dev.pci.restore(b.dev.pci.save());
    fresh.dev.restore(b.dev.save());
    expect(fresh.mmio.read(MSIX + 0x800, 4)).toBe(1);
    expect(fresh.mmio.read(MSIX + 8, 4)).toBe(0x40);
    expect(fresh.msis).toEqual([]);
    fresh.mmio.write(MSIX + 12, 4, 0);
    expect(fresh.msis).toEqual([[0xfee00000, 0x40]]);
    expect(common.read(fresh, C.qsize, 2)).toBe(8);
    expect(common.read(fresh, C.status, 1)).toBe(S.ACK | S.DRIVER | S.FEATURES_OK | S.DRIVER_OK);
  });

  it('save → restore into a fresh device, at any point between completions, goes on exactly as the original', () => {
    const straight = run(null);
    expect(straight.trace).toHaveLength(6);
    for (const cut of [0, 2, 5]) {
      const resumed = run(cut);
      expect(resumed.trace).toEqual(straight.trace);
      expect(Buffer.compare(resumed.disk, straight.disk)).toBe(0);
      expect(Buffer.compare(resumed.ram, straight.ram)).toBe(0);
    }
  });
});
