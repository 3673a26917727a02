/**
 * -drive and -snapshot on the command line: bad specifications get one line
 * naming the problem; snapshot=on leaves the image untouched while the guest
 * still sees a disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectRefusal } from './helpers/emu.js';
import { parseDrive } from '../emu/cli/drive.js';

let dir = '';
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-drive-'));
  fs.writeFileSync(path.join(dir, 'disk.raw'), new Uint8Array(1 << 20));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));


describe('parseDrive', () => {
  it('reads QEMU-style KEY=VALUE lists, with ",," as a literal comma', () => {
    const d = parseDrive('file=a,,b.img,if=nvme,serial=S1,snapshot=on,lat=50');
    expect(d).toMatchObject({ file: 'a,b.img', interface: 'nvme', serial: 'S1', snapshot: true });
    expect(d.options.get('lat')).toBe('50');
    expect(parseDrive('file=x').interface).toBe('virtio');
  });

  it('refuses what it does not know, naming it', () => {
    expect(() => parseDrive('if=virtio')).toThrow(/missing file=PATH/);
    expect(() => parseDrive('file=x,if=ide')).toThrow(/if=ide/);
    expect(() => parseDrive('file=x,cache=none')).toThrow(/unknown option 'cache'/);
    expect(() => parseDrive('file=x,snapshot=yes')).toThrow(/snapshot=yes/);
    expect(() => parseDrive('file=x,serial=' + 'x'.repeat(21))).toThrow(/serial=/);
    expect(() => parseDrive('file=x,rate=fast')).toThrow(/rate=fast/);
    expect(() => parseDrive('file=x,justaword')).toThrow(/'justaword' is not KEY=VALUE/);
  });
});

describe('emu boot -drive', () => {
  const kernel = ['-kernel', 'test/guest/bin/hello.elf'];
  it('a missing image', () => expectRefusal(['boot', ...kernel, '-drive', `file=${dir}/none.img`], /none\.img: no such file/));
  it('a bad interface', () => expectRefusal(['boot', ...kernel, '-drive', `file=${dir}/disk.raw,if=scsi`], /-drive .*if=scsi/));
  it('a format that is not the file\'s', () => expectRefusal(['boot', ...kernel, '-drive', `file=${dir}/disk.raw,format=dfly`], /format=dfly, but the file is a raw image/));
});
