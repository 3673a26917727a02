/**
 * What the server tells the page at /config.json: the machine `emu serve`
 * was given, with the kernel and modules as URLs to fetch. The page builds
 * the same machine from it that the server builds for remote mode.
 */
import type { RunnerConfig } from './runner.js';

export interface PageConfig {
  cpus: number;
  ramBytes: number;
  /** Decimal: JSON has no bigint. */
  seed: string;
  append: string;
  noReboot: boolean;
  rtcBase?: number;
  jit: boolean;
  kernel: { name: string; url: string };
  modules: { name: string; cmdline: string; url: string }[];
}

export interface Images {
  kernel: Uint8Array;
  modules: Uint8Array[];
}

export function runnerConfig(c: PageConfig, images: Images): RunnerConfig {
  return {
    cpus: c.cpus,
    ramBytes: c.ramBytes,
    seed: BigInt(c.seed),
    kernel: { name: c.kernel.name, bytes: images.kernel },
    append: c.append,
    modules: c.modules.map((m, k) => ({ name: m.name, cmdline: m.cmdline, bytes: images.modules[k] })),
    noReboot: c.noReboot,
    rtcBase: c.rtcBase,
    jit: c.jit,
  };
}
