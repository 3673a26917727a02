/// <reference lib="dom" />
/**
 * The page of `emu serve`: fetches the machine's configuration and images
 * from the server, then runs the machine in this tab, or with `?remote=1`
 * (or disk images too big for a tab) connects to one the server runs.
 * window.damselfly exposes the pieces to tests (and to the curious, from
 * the console).
 */
import '@xterm/xterm/css/xterm.css';
import './style.css';
import { decodeTiming, runnerConfig, type PageConfig } from '../page-config.js';
import { memoryEnv, scratchDrives, type DiskSource } from '../tab-disks.js';
import { openDisk } from '../../storage/open.js';
import { pakoCodec } from '../../storage/pako-codec.js';
import { RateTracker } from '../cpu-rates.js';
import { WS_PATH } from '../protocol.js';
import type { Backend, BackendEvents } from './backend.js';
import { startLocal } from './local.js';
import { connectRemote } from './remote.js';
import { SerialTerminal } from './terminal.js';
import { CpuPanel } from './panel.js';
import { Controls } from './controls.js';

declare global {
  interface Window {
    damselfly?: { terminal: SerialTerminal; backend: Backend | null; error: string | null };
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<void> {
  let backend: Backend | null = null;
  const terminal = new SerialTerminal(document.getElementById('terminal')!, (bytes) => backend?.input(bytes));
  const exposed: NonNullable<Window['damselfly']> = { terminal, backend, error: null };
  window.damselfly = exposed;
  terminal.term.focus();
  try {
    const config = await (await fetch('config.json')).json() as PageConfig;
    const panel = new CpuPanel(document.getElementById('cpu-panel')!, config.cpus);
    const tracker = new RateTracker();
    let stoppedNoted = false;
    const controls = new Controls(document.getElementById('controls')!, () => backend, {
      reset: () => { stoppedNoted = false; terminal.note('reset'); },
      loaded: (name) => { stoppedNoted = false; terminal.note(`loaded ${name}`); },
    });
    const events: BackendEvents = {
      output: (bytes) => terminal.write(bytes),
      state: (s) => {
        panel.setState(s);
        controls.setState(s);
        if (s.kind === 'stopped' && !stoppedNoted) { stoppedNoted = true; terminal.note(s.reason); }
      },
      sample: (s) => panel.render(tracker.update(s)),
    };
    let remote = new URLSearchParams(location.search).get('remote') === '1';
    if (!remote && config.remoteOnly) {
      remote = true;
      controls.notice(`${config.remoteOnly}: the machine runs in the server`);
    }
    document.title = `damselfly · ${config.kernel?.name ?? config.drives[0]?.name}${remote ? ' (remote)' : ''}`;
    if (remote) {
      const url = new URL(WS_PATH, location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      backend = await connectRemote(url.href, events);
    } else {
      const [kernel, modules, images] = await Promise.all([
        config.kernel ? fetchBytes(config.kernel.url) : null,
        Promise.all(config.modules.map((m) => fetchBytes(m.url))),
        Promise.all(config.drives.map((d) => fetchBytes(d.url))),
      ]);
      // The fetched copies are the disks: writes go to overlays in this tab and never back to the server.
      const env = memoryEnv(new Map(config.drives.map((d, i) => [d.name, images[i]])), pakoCodec);
      const disks: DiskSource[] = config.drives.map((d) => ({ name: d.name, open: () => openDisk(env, d.name) }));
      const drives = scratchDrives(disks, config.drives.map((d) => ({ interface: d.interface, serial: d.serial, timing: decodeTiming(d.timing) })));
      backend = startLocal(runnerConfig(config, { kernel, modules }, drives), disks, events);
    }
    exposed.backend = backend;
    document.body.dataset.mode = backend.mode;
    document.querySelector('h1')!.textContent = `damselfly · ${remote ? 'machine in the server' : 'machine in this tab'}`;
  } catch (e) {
    exposed.error = (e as Error).message;
    terminal.note(`error: ${exposed.error}`);
  }
}

void main();
