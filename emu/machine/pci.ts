/**
 * PCI bus 0 behind configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2):
 * CONFIG_ADDRESS at 0xCF8 (dword accesses only) and CONFIG_DATA at 0xCFC–0xCFF.
 * Each function is a 256-byte type 0 configuration header with a write mask,
 * so read-only fields stay read-only and BAR sizing works as the spec says.
 * Also the i440FX host bridge at 00:00.0 and the firmware's BAR assignment.
 */
import type { Log, MmioBus, MmioDevice, PortBus, PortDevice, Size } from './bus.js';
import type { IrqLine } from './irq.js';
import type { StateValue, Stateful } from './state.js';
import { asRecord } from './fields.js';

export const PCI_COMMAND_IO = 0x1, PCI_COMMAND_MEMORY = 0x2, PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_PARITY = 0x40, PCI_COMMAND_SERR = 0x100, PCI_COMMAND_INTX_DISABLE = 0x400;
const STATUS_INTERRUPT = 0x08, STATUS_CAP_LIST = 0x10;
const ONES: Record<Size, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };
/** The PCI memory window ends where the IOAPIC begins (DESIGN.md §2); x86 I/O space is 64 KiB. */
const MMIO_LIMIT = 0xfec00000, IO_LIMIT = 0x10000;
/** No BAR is decoded above this; it is beyond any physical address the CPU can form. */
const MAX_PHYS = 2 ** 52;

export type BarKind = 'io' | 'mem32' | 'mem64';

export interface Bar {
  readonly kind: BarKind;
  readonly size: number;
  /** Where the BAR is decoded now, or null (decoding off, or an address that cannot be decoded). */
  mapped: number | null;
}

export interface PciIds {
  vendor: number;
  device: number;
  /** Base class, subclass and programming interface, as the 24 bits at offset 9. */
  classCode: number;
  revision: number;
  subsystemVendor?: number;
  subsystem?: number;
}

export class PciFunction {
  readonly config = new Uint8Array(256);
  readonly writeMask = new Uint8Array(256);
  readonly bars: (Bar | undefined)[] = new Array(6);
  /** BAR `index` is now decoded at `address` (null: no longer decoded). */
  onBarChange: (index: number, address: number | null) => void = () => {};
  onCommandChange: (command: number) => void = () => {};
  /** After every configuration write (capabilities with side effects, such as MSI-X's enable and mask bits). */
  onConfigWrite: (offset: number, size: Size) => void = () => {};
  /** Where INTx goes (routing is the machine's); driven by setIntx unless Interrupt Disable is set. */
  intx: IrqLine | null = null;
  private intxLevel = false;
  private intxDriven = false;
  private lastCap = 0;
  private nextCap = 0x40;

  constructor(ids: PciIds) {
    this.put(0x00, 2, ids.vendor);
    this.put(0x02, 2, ids.device);
    this.put(0x08, 1, ids.revision);
    this.put(0x09, 3, ids.classCode);
    this.put(0x2c, 2, ids.subsystemVendor ?? 0);
    this.put(0x2e, 2, ids.subsystem ?? 0);
    this.put(0x04, 2, 0, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
    this.put(0x0c, 1, 0, 0xff); // cache line size
    this.put(0x3c, 1, 0, 0xff); // interrupt line: the firmware's note to the OS
  }

  get command(): number { return this.get(0x04, 2); }
  /** Header type bit 7: the device has functions besides this one (function 0). */
  markMultifunction(): void { this.config[0x0e] |= 0x80; }

  /** Interrupt Pin: 1–4 for INTA#–INTD#. */
  setInterruptPin(pin: number): void { this.config[0x3d] = pin; }

  /**
   * Declares BAR `index` (a 64-bit BAR also takes index + 1). Its size is a
   * power of two; the address bits below it are read-only zero, which is how
   * writing all ones reads back the size.
   */
  addBar(index: number, kind: BarKind, size: number, prefetchable = false): void {
    const min = kind === 'io' ? 4 : 16;
    if (!(size >= min && 2 ** Math.round(Math.log2(size)) === size)) throw new Error(`BAR ${index}: size ${size} is not a power of two ≥ ${min}`);
    const taken = (i: number): boolean => this.bars[i] !== undefined || this.bars[i - 1]?.kind === 'mem64';
    if (index < 0 || index > (kind === 'mem64' ? 4 : 5) || taken(index) || (kind === 'mem64' && taken(index + 1))) throw new Error(`BAR ${index} is taken or out of range`);
    if (kind === 'io' && size > 256) throw new Error(`I/O BAR ${index}: ${size} bytes exceeds the 256 an I/O BAR may decode`);
    if (kind === 'mem32' && size > 2 ** 31) throw new Error(`32-bit BAR ${index}: ${size} bytes cannot fit below 4 GiB`);
    const off = 0x10 + 4 * index;
    const type = kind === 'io' ? 0x1 : (kind === 'mem64' ? 0x4 : 0) | (prefetchable ? 0x8 : 0);
    this.put(off, 4, type, (~(size - 1) & ~(kind === 'io' ? 3 : 15)) >>> 0);
    if (kind === 'mem64') this.put(off + 4, 4, 0, (~Math.floor((size - 1) / 2 ** 32)) >>> 0);
    this.bars[index] = { kind, size, mapped: null };
  }

  /**
   * Appends a capability to the list at 0x34: its ID and next pointer (read-only)
   * then `body`, writable where `writeMask` says. Returns the capability's offset.
   */
  addCapability(id: number, body: ArrayLike<number>, writeMask?: ArrayLike<number>): number {
    const off = this.nextCap;
    if (off + 2 + body.length > 0x100) throw new Error(`capability 0x${id.toString(16)} does not fit in configuration space`);
    this.config[off] = id;
    for (let i = 0; i < body.length; i++) {
      this.config[off + 2 + i] = body[i];
      this.writeMask[off + 2 + i] = writeMask?.[i] ?? 0;
    }
    this.config[this.lastCap ? this.lastCap + 1 : 0x34] = off;
    this.config[0x06] |= STATUS_CAP_LIST;
    this.lastCap = off;
    this.nextCap = (off + 2 + body.length + 3) & ~3;
    return off;
  }

  /** Where BAR `index` should be decoded under the current command register and BAR value. */
  decodedAddress(index: number): number | null {
    const bar = this.bars[index];
    if (!bar) return null;
    const off = 0x10 + 4 * index;
    const io = bar.kind === 'io';
    if (!(this.command & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY))) return null;
    let addr = (this.get(off, 4) & (io ? ~3 : ~15)) >>> 0;
    if (bar.kind === 'mem64') addr += this.get(off + 4, 4) * 2 ** 32;
    // As QEMU: zero, and windows running off the top of their space (what BAR sizing leaves behind), are not decoded.
    const limit = io ? IO_LIMIT : bar.kind === 'mem32' ? 2 ** 32 - 1 : MAX_PHYS;
    return addr === 0 || addr + bar.size > limit ? null : addr;
  }

  /** The device's INTx# input; the status bit always shows it, the pin only while interrupts are enabled. */
  setIntx(level: boolean): void {
    this.intxLevel = level;
    this.config[0x06] = (this.config[0x06] & ~STATUS_INTERRUPT) | (level ? STATUS_INTERRUPT : 0);
    this.driveIntx();
  }

  readConfig(offset: number, size: Size): number { return this.get(offset, size); }

  writeConfig(offset: number, size: Size, value: number): void {
    const before = this.command;
    for (let i = 0; i < size; i++) {
      const o = offset + i, m = this.writeMask[o];
      this.config[o] = (this.config[o] & ~m) | ((value >>> (8 * i)) & m);
    }
    const command = this.command;
    if (command !== before) {
      this.onCommandChange(command);
      this.driveIntx();
    }
    if (command !== before || (offset < 0x28 && offset + size > 0x10)) this.remap();
    this.onConfigWrite(offset, size);
  }

  /**
   * The configuration header and the device's INTx# input. Restoring decodes
   * the BARs where the header puts them and drives INTx# again, so the wiring
   * behind it (a shared line's other inputs) agrees with the saved machine.
   */
  save(): StateValue { return { config: this.config.slice(), intx: this.intxLevel }; }

  restore(s: StateValue): void {
    const r = asRecord(s, 'PCI function');
    if (!(r.config instanceof Uint8Array) || r.config.length !== 256 || typeof r.intx !== 'boolean') throw new Error('snapshot: a PCI function\'s state is malformed');
    this.config.set(r.config);
    this.intxLevel = r.intx;
    this.remap();
    this.driveIntx();
  }

  /** Configuration bytes as the device sees them (its own capability registers). */
  configWord(offset: number, size: Size): number { return this.get(offset, size); }

  /** The device changes one of its own read-only configuration fields. */
  setConfig(offset: number, size: Size, value: number): void {
    for (let i = 0; i < size; i++) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  private remap(): void {
    this.bars.forEach((bar, i) => {
      if (!bar) return;
      const addr = this.decodedAddress(i);
      if (addr === bar.mapped) return;
      bar.mapped = addr;
      this.onBarChange(i, addr);
    });
  }

  private driveIntx(): void {
    const level = this.intxLevel && !(this.command & PCI_COMMAND_INTX_DISABLE);
    if (level === this.intxDriven) return;
    this.intxDriven = level;
    this.intx?.set(level);
  }

  private get(offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.config[offset + i] << (8 * i);
    return v >>> 0;
  }

  private put(offset: number, size: number, value: number, mask = 0): void {
    for (let i = 0; i < size; i++) {
      this.config[offset + i] = (value >>> (8 * i)) & 0xff;
      this.writeMask[offset + i] = (mask >>> (8 * i)) & 0xff;
    }
  }
}

/**
 * Keeps each BAR of `fn` mapped where the guest puts it: on the port bus for
 * an I/O BAR, on the MMIO bus for a memory BAR, with offsets relative to the
 * BAR's base. A BAR placed over another device's window is not decoded (and
 * logged): the guest's mistake must not stop the machine.
 */
export function attachBars(fn: PciFunction, ports: PortBus, mmio: MmioBus, log: Log, handlers: Record<number, MmioDevice | PortDevice>): void {
  const mapped = new Map<number, MmioDevice | PortDevice>();
  fn.onBarChange = (index, address) => {
    const bar = fn.bars[index];
    const target = handlers[index];
    if (!bar || !target) return;
    const old = mapped.get(index);
    if (old) {
      if (bar.kind === 'io') ports.unregister(old as PortDevice);
      else mmio.unmap(old as MmioDevice);
      mapped.delete(index);
    }
    if (address === null) return;
    if (bar.kind === 'io') {
      const dev = target as PortDevice;
      const shifted: PortDevice = {
        portRead: (port, size) => dev.portRead(port - address, size),
        portWrite: (port, size, value) => dev.portWrite(port - address, size, value),
      };
      try { ports.register(address, bar.size, shifted); } catch (e) {
        ports.unregister(shifted);
        log('guest_errors', `pci: BAR ${index} at port 0x${address.toString(16)}: ${(e as Error).message}; not decoded`);
        return;
      }
      mapped.set(index, shifted);
    } else {
      const dev = target as MmioDevice;
      const own: MmioDevice = { mmioRead: (o, size) => dev.mmioRead(o, size), mmioWrite: (o, size, v) => dev.mmioWrite(o, size, v) };
      try { mmio.map(address, bar.size, own); } catch (e) {
        log('guest_errors', `pci: BAR ${index}: ${(e as Error).message}; not decoded`);
        return;
      }
      mapped.set(index, own);
    }
  };
}

/** The i440FX PMC as QEMU's `pc` machine presents it at 00:00.0 (Red Hat's subsystem IDs, as `lspci` shows). */
export function createHostBridge(): PciFunction {
  return new PciFunction({ vendor: 0x8086, device: 0x1237, classCode: 0x060000, revision: 0x02, subsystemVendor: 0x1af4, subsystem: 0x1100 });
}

export class PciBus implements PortDevice, Stateful {
  /** CONFIG_ADDRESS: enable (31), bus (23:16), device (15:11), function (10:8), register (7:2); the rest reads 0. */
  address = 0;
  private readonly functions = new Map<number, PciFunction>();
  /**
   * The PIIX3's Reset Control Register, which shares CONFIG_ADDRESS's dword at
   * 0xCF9 (PIIX3 datasheet §4.1.27): bit 1 chooses a hard reset, and a 0-to-1
   * transition of bit 2 resets the system. Only bit 1 is kept, as QEMU does.
   */
  rcr = 0;

  constructor(private readonly log: Log, private readonly resetSystem: (reason: string) => void = () => {}) {}

  register(bus: PortBus): void { bus.register(0xcf8, 8, this); }

  add(device: number, fn: number, dev: PciFunction): void {
    if (!(device >= 0 && device < 32 && fn >= 0 && fn < 8)) throw new RangeError(`PCI 00:${device}.${fn} is not a device/function number`);
    const key = (device << 3) | fn;
    if (this.functions.has(key)) throw new Error(`PCI 00:${hex2(device)}.${fn} is taken`);
    this.functions.set(key, dev);
    // Software scans functions 1–7 only when function 0 says it is multi-function.
    const f0 = this.functions.get(device << 3);
    if (f0 && [...this.functions.keys()].some((k) => k >> 3 === device && (k & 7) !== 0)) f0.markMultifunction();
  }

  get(device: number, fn: number): PciFunction | undefined { return this.functions.get((device << 3) | fn); }

  /** CONFIG_ADDRESS and every function's header, by device and function number. */
  save(): StateValue {
    return { address: this.address, rcr: this.rcr, functions: this.entries().map(([d, f, fn]) => ({ device: d, fn: f, state: fn.save() })) };
  }

  restore(s: StateValue): void {
    const r = asRecord(s, 'PCI bus');
    if (typeof r.address !== 'number' || !Array.isArray(r.functions)) throw new Error('snapshot: the PCI bus state is malformed');
    this.address = r.address;
    this.rcr = typeof r.rcr === 'number' ? r.rcr : 0;
    for (const item of r.functions) {
      const f = asRecord(item, 'PCI function');
      const fn = this.get(Number(f.device), Number(f.fn));
      if (!fn) throw new Error(`snapshot: PCI 00:${hex2(Number(f.device))}.${f.fn} was saved but the machine has no such function`);
      fn.restore(f.state);
    }
  }

  /** Every function, in bus scan order. */
  entries(): [device: number, fn: number, dev: PciFunction][] {
    return [...this.functions.entries()].sort(([a], [b]) => a - b).map(([k, d]) => [k >> 3, k & 7, d]);
  }

  portRead(port: number, size: Size): number {
    if (port < 0xcfc) {
      if (port === 0xcf8 && size === 4) return this.address;
      if (port === 0xcf9 && size === 1) return this.rcr;
      this.nonDword(port, size, 'read');
      return ONES[size];
    }
    const target = this.target(port, size);
    return target ? target.readConfig((this.address & 0xfc) + (port & 3), size) : ONES[size];
  }

  portWrite(port: number, size: Size, value: number): void {
    if (port < 0xcfc) {
      if (port === 0xcf8 && size === 4) this.address = (value & 0x80fffffc) >>> 0;
      else if (port === 0xcf9 && size === 1) this.writeRcr(value);
      else this.nonDword(port, size, 'write');
      return;
    }
    this.target(port, size)?.writeConfig((this.address & 0xfc) + (port & 3), size, value);
  }

  /**
   * The function CONFIG_DATA reaches, or null: enable bit clear (an ordinary I/O
   * access nobody claims), another bus, an absent device (master abort), or an
   * access straddling the dword — all read as ones.
   */
  private target(port: number, size: Size): PciFunction | null {
    if ((port & 3) + size > 4) {
      this.log('guest_errors', `pci: ${size}-byte access to CONFIG_DATA at 0x${port.toString(16)} crosses the dword`);
      return null;
    }
    const a = this.address;
    if (!(a & 0x80000000) || (a >> 16) & 0xff) return null;
    return this.functions.get((a >> 8) & 0xff) ?? null;
  }

  private writeRcr(value: number): void {
    const reset = (value & 4) !== 0 && (this.rcr & 4) === 0;
    this.rcr = value & 2;
    if (reset) {
      this.rcr = 0;
      this.resetSystem(`${value & 2 ? 'hard' : 'soft'} reset by the reset control register (0xcf9)`);
    }
  }

  /** Mechanism #1 passes these on as plain I/O: nothing else is decoded in CONFIG_ADDRESS's dword. */
  private nonDword(port: number, size: Size, what: string): void {
    this.log('unimp', `pci: ${size}-byte ${what} at 0x${port.toString(16)} (only dword CONFIG_ADDRESS accesses and the reset control byte at 0xcf9 are decoded)`);
  }
}

/**
 * What SeaBIOS does at boot: gives every BAR a naturally aligned address —
 * largest first, memory from `mmioBase` and I/O from `ioBase` — then turns on
 * I/O and memory decoding (and SERR#) in every function. Returns the first free
 * address of each window.
 */
export function assignBars(bus: PciBus, mmioBase: number, ioBase: number): { mmioEnd: number; ioEnd: number } {
  const bars = bus.entries().flatMap(([, , fn]) => fn.bars.flatMap((bar, index) => (bar ? [{ fn, bar, index }] : [])));
  const place = (kind: 'io' | 'mem', base: number, limit: number): number => {
    let next = base;
    for (const { fn, bar, index } of bars.filter((b) => (b.bar.kind === 'io') === (kind === 'io')).sort((a, b) => b.bar.size - a.bar.size)) {
      const addr = Math.ceil(next / bar.size) * bar.size;
      if (addr + bar.size > limit) throw new Error(`PCI ${kind} window from 0x${base.toString(16)} is too small for every BAR`);
      fn.writeConfig(0x10 + 4 * index, 4, addr >>> 0);
      if (bar.kind === 'mem64') fn.writeConfig(0x14 + 4 * index, 4, Math.floor(addr / 2 ** 32));
      next = addr + bar.size;
    }
    return next;
  };
  const mmioEnd = place('mem', mmioBase, MMIO_LIMIT);
  const ioEnd = place('io', ioBase, IO_LIMIT);
  for (const [, , fn] of bus.entries()) fn.writeConfig(0x04, 2, fn.command | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_SERR);
  return { mmioEnd, ioEnd };
}

function hex2(n: number): string { return n.toString(16).padStart(2, '0'); }
