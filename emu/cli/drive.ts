/**
 * `-drive file=PATH[,if=virtio|nvme][,snapshot=on][,serial=S][,model=hdd|ssd|none][,rate=MB/s][,lat=µs][,seek=ms][,rpm=N]`
 * and `-snapshot`: QEMU's vocabulary for the machine's disks. Images are opened
 * here, on the Node side; the machine sees only the Disk interface.
 */
import { nodeEnv } from '../storage/node.js';
import { openDisk } from '../storage/open.js';
import { ScratchOverlay } from '../storage/scratch.js';
import type { Disk } from '../storage/disk.js';
import type { DriveConfig, DriveInterface } from '../machine/drives.js';
import { HDD_DEFAULTS, SSD_DEFAULTS, parseTiming } from '../machine/disk-timing.js';

export interface DriveSpec {
  file: string;
  interface: DriveInterface;
  snapshot: boolean;
  serial?: string;
  options: Map<string, string>;
}

const KEYS = new Set(['file', 'if', 'snapshot', 'serial', 'model', 'rate', 'lat', 'seek', 'rpm', 'format']);

/** One -drive argument; QEMU's ",," is a literal comma in a value. */
export function parseDrive(arg: string): DriveSpec {
  const opts = new Map<string, string>();
  for (const item of arg.split(/(?<!,),(?!,)/)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`-drive ${arg}: '${item}' is not KEY=VALUE`);
    const key = item.slice(0, eq), value = item.slice(eq + 1).replace(/,,/g, ',');
    if (!KEYS.has(key)) throw new Error(`-drive ${arg}: unknown option '${key}' (known: ${[...KEYS].join(', ')})`);
    opts.set(key, value);
  }
  const file = opts.get('file');
  if (!file) throw new Error(`-drive ${arg}: missing file=PATH`);
  const iface = opts.get('if') ?? 'virtio';
  if (iface !== 'virtio' && iface !== 'nvme') throw new Error(`-drive ${arg}: if=${iface} (the machine has virtio and nvme)`);
  const snap = opts.get('snapshot') ?? 'off';
  if (snap !== 'on' && snap !== 'off') throw new Error(`-drive ${arg}: snapshot=${snap} (on or off)`);
  const format = opts.get('format');
  if (format !== undefined && format !== 'raw' && format !== 'dfly' && format !== 'qcow2') throw new Error(`-drive ${arg}: format=${format} (raw, dfly or qcow2; the format is also recognised by content)`);
  const serial = opts.get('serial');
  // NVMe's Identify field is 20 bytes; virtio-blk's GET_ID gives 20 as well.
  if (serial !== undefined && !/^[\x20-\x7e]{1,20}$/.test(serial)) throw new Error(`-drive ${arg}: serial=${serial} is not 1-20 printable ASCII characters`);
  try {
    parseTiming(iface === 'nvme' ? SSD_DEFAULTS : HDD_DEFAULTS, opts);
  } catch (e) {
    throw new Error(`-drive ${arg}: ${(e as Error).message}`);
  }
  return { file, interface: iface, snapshot: snap === 'on', serial, options: opts };
}

/** `emu boot DISK`: DISK goes first, as `-drive file=DISK,if=virtio`, ahead of the -drive disks. */
export function withBootDisk(disk: string | undefined, drives: DriveSpec[]): DriveSpec[] {
  return disk === undefined ? drives : [parseDrive(`file=${disk.replace(/,/g, ',,')},if=virtio`), ...drives];
}

/**
 * Opens every drive (writable unless its writes go to a scratch overlay). On
 * failure the ones already open are closed and the error names the file.
 */
export function openDrives(specs: DriveSpec[], snapshotAll: boolean): DriveConfig[] {
  const out: DriveConfig[] = [];
  try {
    specs.forEach((s, i) => {
      const scratch = s.snapshot || snapshotAll;
      const opened = openDisk(nodeEnv, s.file, { writable: !scratch });
      const format = s.options.get('format');
      if (format && format !== opened.format) {
        opened.close();
        throw new Error(`-drive ${s.file}: format=${format}, but the file is a ${opened.format} image`);
      }
      const disk: Disk = scratch ? new ScratchOverlay(opened) : opened;
      out.push({
        disk,
        interface: s.interface,
        serial: s.serial ?? `DFLY${String(i).padStart(4, '0')}`,
        timing: parseTiming(s.interface === 'nvme' ? SSD_DEFAULTS : HDD_DEFAULTS, s.options),
      });
    });
  } catch (e) {
    closeDrives(out);
    throw e;
  }
  return out;
}

/** What QEMU does at exit: every write the guest made reaches the image, and the image is committed. */
export function closeDrives(drives: DriveConfig[]): void {
  for (const d of drives) {
    d.disk.flush();
    d.disk.close();
  }
}
