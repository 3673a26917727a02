/**
 * `emu boot --save-state FILE --save-state-at TIME` and `--load-state FILE`
 * as a user runs them (dist/, built by `node tools/build.mjs`): does the
 * resumed machine print exactly the rest of what an uninterrupted run prints,
 * and is every bad combination or damaged file one clear line?
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runEmu, expectRefusal } from './helpers/emu.js';
import { Console } from '../emu/cli/console.js';

const RACY = 'test/guest/bin/racy.elf';
let dir = '';

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-snap-'));
});


describe('emu boot --save-state-at, then --load-state', () => {
  it('the resumed machine prints the rest of the uninterrupted transcript and exits the same way', async () => {
    const snap = path.join(dir, 'racy.snap');
    const straight = await runEmu(['boot', '-kernel', RACY, '-smp', '4', '--seed', '5']);
    const saving = await runEmu(['boot', '-kernel', RACY, '-smp', '4', '--seed', '5', '--save-state', snap, '--save-state-at', '15ms']);
    expect(saving.stdout.toString()).toBe(straight.stdout.toString());
    expect(saving.status).toBe(straight.status);
    expect(saving.stderr).toMatch(new RegExp(`machine saved to ${snap.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at virtual time 15\\.\\d{3} ms`));
    const resumed = await runEmu(['boot', '--load-state', snap]);
    expect(resumed.status).toBe(straight.status);
    const rest = resumed.stdout.toString();
    expect(rest.length).toBeGreaterThan(0);
    expect(straight.stdout.toString().endsWith(rest)).toBe(true);
    expect(rest.length).toBeLessThan(straight.stdout.length);
    // Nothing but the final file is left behind by the write.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('racy.snap'))).toEqual(['racy.snap']);
  });

  it('virtual times take ns, us, ms and s', async () => {
    const snap = path.join(dir, 'units.snap');
    for (const at of ['2000000', '2000us', '2ms', '0.002s']) {
      const r = await runEmu(['boot', '-kernel', RACY, '-smp', '2', '--save-state', snap, '--save-state-at', at]);
      expect(r.stderr).toMatch(/machine saved to .* at virtual time 2\.\d{3} ms/);
    }
  });
});

describe('bad combinations and files get one line and a non-zero exit', () => {
  it('--load-state with options that describe another machine', async () => {
    await expectRefusal(['boot', '--load-state', 'x.snap', '-kernel', RACY], /--load-state: -kernel conflicts with it/);
    await expectRefusal(['boot', '--load-state', 'x.snap', '-smp', '2'], /--load-state: -smp conflicts/);
    await expectRefusal(['boot', '--load-state', 'x.snap', '--seed=3'], /--load-state: --seed conflicts/);
    await expectRefusal(['boot', '--load-state', 'x.snap', '-drive', 'file=d.img'], /--load-state: -drive conflicts/);
  });

  it('--save-state-at without a file, or with a time that is not one', async () => {
    await expectRefusal(['boot', '-kernel', RACY, '--save-state-at', '2s'], /--save-state-at: needs --save-state FILE/);
    await expectRefusal(['boot', '-kernel', RACY, '--save-state', 'x.snap', '--save-state-at', 'soon'], /--save-state-at: 'soon' is not a virtual time/);
  });

  it('a missing, truncated, corrupt or foreign snapshot file', async () => {
    const snap = path.join(dir, 'good.snap');
    await runEmu(['boot', '-kernel', RACY, '-smp', '2', '--save-state', snap, '--save-state-at', '1ms']);
    const good = fs.readFileSync(snap);
    await expectRefusal(['boot', '--load-state', path.join(dir, 'none.snap')], /--load-state .*none\.snap: no such file/);
    fs.writeFileSync(path.join(dir, 'short.snap'), good.subarray(0, good.length - 100));
    await expectRefusal(['boot', '--load-state', path.join(dir, 'short.snap')], /short\.snap: truncated/);
    const flipped = Buffer.from(good);
    flipped[good.length - 50] ^= 4;
    fs.writeFileSync(path.join(dir, 'flipped.snap'), flipped);
    await expectRefusal(['boot', '--load-state', path.join(dir, 'flipped.snap')], /flipped\.snap: corrupt section/);
    await expectRefusal(['boot', '--load-state', RACY], /racy\.elf: not a machine snapshot/);
  });

  it('a disk that changed since the save (here a raw image under -snapshot)', async () => {
    const disk = path.join(dir, 'disk.raw');
    const snap = path.join(dir, 'disk.snap');
    fs.writeFileSync(disk, Buffer.alloc(1 << 20));
    const saved = await runEmu(['boot', '-kernel', RACY, '-smp', '2', '-drive', `file=${disk},if=nvme`, '-snapshot', '--save-state', snap, '--save-state-at', '1ms']);
    expect(saved.stderr).toMatch(/machine saved to/);
    expect((await runEmu(['boot', '--load-state', snap])).status).toBe(saved.status);
    fs.writeFileSync(disk, Buffer.alloc(1 << 20, 1));
    await expectRefusal(['boot', '--load-state', snap], /disk\.snap: drive 0 \(.*disk\.raw\) has changed since the snapshot/);
  });

  it('a save that cannot be written names the file and leaves nothing behind', async () => {
    const target = path.join(dir, 'no-such-dir', 'x.snap');
    const r = await runEmu(['boot', '-kernel', RACY, '-smp', '2', '--save-state', target, '--save-state-at', '1ms']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--save-state .*no-such-dir\/x\.snap: /);
    expect(fs.existsSync(path.dirname(target))).toBe(false);
  });
});

describe('the console', () => {
  it('Ctrl-A s asks for a save; the keys around it still reach the guest', () => {
    const events = { input: vi.fn(), quit: vi.fn(), end: vi.fn(), save: vi.fn() };
    const tty = { isTTY: true } as unknown as NodeJS.ReadStream;
    new Console(events, tty).receive(Uint8Array.of(0x61, 0x01, 0x73, 0x62));
    expect(events.save).toHaveBeenCalledTimes(1);
    expect(events.input.mock.calls.map(([b]) => Buffer.from(b as Uint8Array).toString())).toEqual(['a', 'b']);
    expect(events.quit).not.toHaveBeenCalled();
  });
});
