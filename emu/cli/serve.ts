/**
 * `emu serve`: the machine in a browser tab. Reads the kernel and modules,
 * serves the page (built into dist/web beside dist/emu.mjs) with them, and
 * keeps serving until interrupted. The machine itself runs in the page, or
 * in this process for pages opened with `?remote=1`.
 */
import { fileURLToPath } from 'node:url';
import { readFile, parseModules } from './boot.js';
import { Machine } from '../machine/machine.js';
import { BootError } from '../firmware/multiboot.js';
import { startServer } from '../web/server/http.js';
import type { PageConfig } from '../web/page-config.js';
import type { RunnerConfig } from '../web/runner.js';

export interface ServeOptions {
  kernel: string;
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
  const kernel = readFile(o.kernel, '-kernel');
  const modules = parseModules(o.initrd);
  const machine: RunnerConfig = {
    ramBytes: o.mem, cpus: o.smp, seed: o.seed, kernel: { name: o.kernel, bytes: kernel }, append: o.append,
    modules, noReboot: o.noReboot, rtcBase: o.rtcBase, jit: o.jit,
  };
  // Refuse a kernel the loader refuses here, with the same message as boot, rather than in the page.
  try {
    new Machine(machine);
  } catch (e) {
    if (e instanceof BootError) throw new Error(e.message);
    throw e;
  }
  const page: PageConfig = {
    cpus: o.smp, ramBytes: o.mem, seed: o.seed.toString(), append: o.append, noReboot: o.noReboot,
    rtcBase: o.rtcBase, jit: o.jit,
    // The name is part of the multiboot command line: the same as boot's and remote mode's.
    kernel: { name: o.kernel, url: '/kernel' },
    modules: modules.map((m, k) => ({ name: m.name, cmdline: m.cmdline, url: `/module/${k}` })),
  };
  const server = await startServer({
    host: o.host, port: o.port, page, machine, images: { kernel, modules: modules.map((m) => m.bytes) },
    // dist/emu.mjs is the bundle this runs from; the page is built beside it.
    webRoot: fileURLToPath(new URL('./web/', import.meta.url)),
  });
  process.stdout.write(`emu: serving ${o.kernel} at ${server.url} (remote machine: ${server.url}?remote=1); Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolve(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
