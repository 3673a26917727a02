/** A raw image: the file is the disk, byte for byte. */
import type { BlockFile } from './host.js';
import { checkRange, type Disk } from './disk.js';

export class RawDisk implements Disk {
  readonly format = 'raw' as const;
  readonly parent = null;
  readonly size: number;
  constructor(private readonly file: BlockFile) {
    this.size = file.size();
  }
  get path(): string { return this.file.path; }

  read(pos: number, len: number): Uint8Array {
    checkRange(this, pos, len);
    return this.file.read(pos, len);
  }
  write(pos: number, data: Uint8Array): void {
    checkRange(this, pos, data.length);
    this.file.write(pos, data);
  }
  flush(): void { this.file.sync(); }
  close(): void { this.file.close(); }
}
