/**
 * `emu serve`: the machine in a browser tab. Reads the kernel and modules,
 * checks the disks open, serves the page (built into dist/web beside
 * dist/emu.mjs) with them, and keeps serving until interrupted. The machine
 * itself runs in the page, or in this process for pages opened with
 * `?remote=1` (and for disks too big for a tab). Disks are always opened
 * read-only under a scratch overlay, on both sides: writes never reach the
 * files, as if every drive had snapshot=on.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readFile, parseModules } from './boot.js';
import { openDrives, withBootDisk, type DriveSpec } from './drive.js';
import { Machine } from '../machine/machine.js';
import { BootError } from '../firmware/multiboot.js';
import { GptError } from '../firmware/gpt.js';
import { nodeEnv } from '../storage/node.js';
import { openDisk } from '../storage/open.js';
import { startServer } from '../web/server/http.js';
import { encodeTiming, runnerConfig, tabRefusal, type PageConfig, type PageDrive } from '../web/page-config.js';
import { scratchDrives, type DiskSource } from '../web/tab-disks.js';
import type { RunnerConfig } from '../web/runner.js';

export interface ServeOptions {
  kernel?: string;
  /** A disk made by mkdisk: attached first, and booted from when there is no kernel. */
  disk?: string;
  drives: DriveSpec[];
  append: string;
  initrd?: string;
  mem: number;
  smp: number;
  seed: bigint;
  noReboot: boolean;
  rtcBase?: number;
  jit: boolean;
  host: string;
  port: number;
}

export async function serveCommand(o: ServeOptions): Promise<number> {
  const kernel = o.kernel === undefined ? null : readFile(o.kernel, '-kernel');
  const modules = parseModules(o.initrd);
  const specs = withBootDisk(o.disk, o.drives);
  // Opened once here so that a missing or unreadable image is refused at start, as boot refuses it.
  const opened = openDrives(specs, true);
  const chained = opened.find((d) => d.disk.parent?.parent);
  for (const d of opened) d.disk.close();
  const drives: PageDrive[] = specs.map((s, i) => ({
    name: s.file, url: `/drive/${i}`, fileBytes: fs.statSync(s.file).size,
    interface: opened[i].interface, serial: opened[i].serial, timing: encodeTiming(opened[i].timing),
  }));
  const sources: DiskSource[] = specs.map((s) => ({ name: s.file, open: () => openDisk(nodeEnv, s.file) }));
  const page: PageConfig = {
    cpus: o.smp, ramBytes: o.mem, seed: o.seed.toString(), append: o.append, noReboot: o.noReboot,
    rtcBase: o.rtcBase, jit: o.jit,
    // The name is part of the multiboot command line: the same as boot's and remote mode's.
    kernel: o.kernel === undefined ? null : { name: o.kernel, url: '/kernel' },
    modules: modules.map((m, k) => ({ name: m.name, cmdline: m.cmdline, url: `/module/${k}` })),
    drives,
    remoteOnly: chained
      ? `${chained.disk.parent!.path} is an overlay on ${chained.disk.parent!.parent!.path}, which the page does not fetch`
      : tabRefusal(drives),
  };
  const images = { kernel, modules: modules.map((m) => m.bytes) };
  const specsOf = opened.map((d) => ({ interface: d.interface, serial: d.serial, timing: d.timing }));
  const config = (): RunnerConfig => runnerConfig(page, images, scratchDrives(sources, specsOf));
  // Refuse a kernel the loader refuses here, with the same message as boot, rather than in the page.
  let check: RunnerConfig | undefined;
  try {
    check = config();
    new Machine(check);
  } catch (e) {
    if (e instanceof BootError) throw new Error(kernel ? e.message : `${o.disk}: the kernel in its boot partition: ${e.message}`);
    if (e instanceof GptError) throw new Error(e.message);
    throw e;
  } finally {
    for (const d of check?.drives ?? []) d.disk.close();
  }
  const server = await startServer({
    host: o.host, port: o.port, page, images, driveFiles: specs.map((s) => s.file),
    machine: { config, disks: sources },
    // dist/emu.mjs is the bundle this runs from; the page is built beside it.
    webRoot: fileURLToPath(new URL('./web/', import.meta.url)),
  });
  const what = o.kernel ?? o.disk ?? specs[0].file;
  process.stdout.write(`emu: serving ${what} at ${server.url} (remote machine: ${server.url}?remote=1); Ctrl-C stops\n`);
  if (page.remoteOnly) process.stdout.write(`emu: the page will use the machine in this process: ${page.remoteOnly}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
