/**
 * MSI-X (PCI Local Bus 3.0 §6.8.2): a capability whose Message Control holds
 * the enable and function-mask bits, and a table of vectors (address, data,
 * mask) plus a pending-bit array in the device's memory BARs. A device raises
 * vector n; it goes to the APIC bus as an MSI write unless the function or the
 * entry is masked, in which case its pending bit is set and the message is
 * sent when the mask is lifted — the spec's rule that a masked vector is held,
 * never lost. While MSI-X is enabled the device must not use INTx.
 */
import type { Log, MmioDevice, Size } from './bus.js';
import type { StateValue } from './state.js';
import type { PciFunction } from './pci.js';

export const PCI_CAP_MSIX = 0x11;
const ENABLE = 0x8000, FUNCTION_MASK = 0x4000;
const VECTOR_MASKED = 1;

export interface MsixLayout {
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

export class Msix {
  readonly cap: number;
  /** Address low, address high, data, vector control — per vector. */
  private readonly table: Uint32Array;
  private readonly pending: Uint8Array;
  /** The table and pending-bit array as memory windows; the device decodes them inside its BARs. */
  readonly tableWindow: MmioDevice;
  readonly pbaWindow: MmioDevice;

  constructor(private readonly fn: PciFunction, readonly layout: MsixLayout, private readonly send: (address: number, data: number) => void, private readonly log: Log) {
    const { vectors, tableBar, tableOffset, pbaBar, pbaOffset } = layout;
    if (vectors < 1 || vectors > 2048) throw new RangeError(`MSI-X: ${vectors} vectors (1-2048)`);
    if (tableOffset & 7 || pbaOffset & 7) throw new RangeError('MSI-X: table and PBA offsets are 8-byte aligned');
    const table = tableOffset | tableBar, pba = pbaOffset | pbaBar;
    const control = vectors - 1;
    this.cap = fn.addCapability(PCI_CAP_MSIX,
      [control & 0xff, control >> 8, table & 0xff, (table >> 8) & 0xff, (table >> 16) & 0xff, table >>> 24, pba & 0xff, (pba >> 8) & 0xff, (pba >> 16) & 0xff, pba >>> 24],
      [0, (ENABLE | FUNCTION_MASK) >> 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    this.table = new Uint32Array(vectors * 4);
    for (let v = 0; v < vectors; v++) this.table[v * 4 + 3] = VECTOR_MASKED;
    this.pending = new Uint8Array(vectors);
    const prev = fn.onConfigWrite;
    fn.onConfigWrite = (offset, size) => {
      prev(offset, size);
      if (offset < this.cap + 4 && offset + size > this.cap + 2) this.deliverPending();
    };
    this.tableWindow = {
      mmioRead: (o, size) => this.tableRead(o, size),
      mmioWrite: (o, size, value) => this.tableWrite(o, size, value),
    };
    this.pbaWindow = {
      mmioRead: (o, size) => this.pbaRead(o, size),
      mmioWrite: () => this.log('guest_errors', 'MSI-X: write to the read-only pending-bit array ignored'),
    };
  }

  private get control(): number { return this.fn.configWord(this.cap + 2, 2); }
  get enabled(): boolean { return (this.control & ENABLE) !== 0; }
  get vectors(): number { return this.layout.vectors; }

  /** Raises vector `v`. Returns false when MSI-X is disabled (the device falls back to INTx). */
  notify(v: number): boolean {
    if (!this.enabled) return false;
    if (v < 0 || v >= this.layout.vectors) {
      this.log('guest_errors', `MSI-X: vector ${v} beyond the table's ${this.layout.vectors}; dropped`);
      return true;
    }
    if (this.masked(v)) this.pending[v] = 1;
    else this.fire(v);
    return true;
  }

  isPending(v: number): boolean { return this.pending[v] === 1; }

  /** The table and pending bits; the capability's enable and mask bits are configuration space, saved with the function. */
  save(): StateValue {
    return { table: new Uint8Array(this.table.buffer.slice(0)), pending: this.pending.slice() };
  }

  restore(state: StateValue): void {
    const s = state as { table?: unknown; pending?: unknown };
    if (!(s.table instanceof Uint8Array) || s.table.length !== this.table.length * 4 || !(s.pending instanceof Uint8Array) || s.pending.length !== this.pending.length) {
      throw new Error(`snapshot: MSI-X state does not fit a table of ${this.layout.vectors} vectors`);
    }
    new Uint8Array(this.table.buffer).set(s.table);
    this.pending.set(s.pending);
  }

  private masked(v: number): boolean {
    return (this.control & FUNCTION_MASK) !== 0 || (this.table[v * 4 + 3] & VECTOR_MASKED) !== 0;
  }

  private fire(v: number): void {
    this.pending[v] = 0;
    const t = this.table, i = v * 4;
    if (t[i + 1] !== 0) {
      this.log('guest_errors', `MSI-X vector ${v}: address 0x${t[i + 1].toString(16)}${t[i].toString(16).padStart(8, '0')} is above 4 GiB, where no APIC listens; dropped`);
      return;
    }
    this.send(t[i], t[i + 2]);
  }

  private deliverPending(): void {
    if (!this.enabled) return;
    for (let v = 0; v < this.layout.vectors; v++) if (this.pending[v] && !this.masked(v)) this.fire(v);
  }

  private tableRead(o: number, size: Size): number {
    if (o >= this.table.length * 4) return 0;
    const word = this.table[o >> 2];
    return size === 4 ? word : (word >>> (8 * (o & 3))) & (size === 2 ? 0xffff : 0xff);
  }

  private tableWrite(o: number, size: Size, value: number): void {
    if (o >= this.table.length * 4) return;
    if (size !== 4 || o & 3) {
      this.log('guest_errors', `MSI-X: ${size}-byte table write at 0x${o.toString(16)}; the spec allows dword and qword accesses only`);
      return;
    }
    const k = o >> 2;
    const field = k & 3;
    // The address's low two bits and the control's reserved bits read as zero.
    this.table[k] = field === 0 ? value & ~3 : field === 3 ? value & VECTOR_MASKED : value >>> 0;
    if (field === 3) this.deliverPending();
  }

  private pbaRead(o: number, size: Size): number {
    let word = 0;
    for (let b = 0; b < 32; b++) {
      const v = (o & ~3) * 8 + b;
      if (v < this.layout.vectors && this.pending[v]) word |= 1 << b;
    }
    word >>>= 0;
    return size === 4 ? word : (word >>> (8 * (o & 3))) & (size === 2 ? 0xffff : 0xff);
  }
}
