/**
 * Remote mode (`?remote=1`): each WebSocket connection gets its own machine
 * in this process, run in setImmediate-chained slices like `emu boot` runs
 * its machine, with output, run state and CPU samples streamed to the page
 * (protocol.ts). `ws` is loaded only here, so `emu run` and `emu boot`
 * never pay for it. Each machine has its own scratch overlays over the
 * served images, so connections never see each other's writes.
 */
import type { Server } from 'node:http';
import type { WebSocket } from 'ws';
import { MachineRunner, type RunnerConfig, type RunnerState } from '../runner.js';
import { sampleMachine } from '../cpu-sample.js';
import type { ToPage, ToServer } from '../protocol.js';
import { snapshotDiskOpener, snapshotFileName, type DiskSource } from '../tab-disks.js';
import { snapshotCodec } from '../../cli/machine-state.js';

/** What remote mode runs: a fresh machine configuration (with fresh drives) per connection, and the disks a snapshot may name. */
export interface RemoteMachine {
  config(): RunnerConfig;
  disks: DiskSource[];
}

/** Host milliseconds per slice: short enough for keystrokes and other connections to get through. */
const BUDGET_MS = 20;
const SAMPLE_MS = 500;
/** Output the socket has not yet sent past which the machine waits: a guest printing in a loop must not fill memory. */
const BACKLOG = 1 << 20;
/** The largest snapshot a page may upload. */
const MAX_SNAPSHOT = 2 ** 30;

export async function attachRemote(server: Server, path: string, machine: RemoteMachine): Promise<{ close(): void }> {
  const { WebSocketServer } = await import('ws');
  // ws's default of 100 MiB per message would cut off the snapshot of a big guest's RAM.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SNAPSHOT });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) { socket.destroy(); return; }
    wss.handleUpgrade(req, socket, head, (ws) => serveMachine(ws, machine));
  });
  return { close: () => { for (const ws of wss.clients) ws.terminate(); wss.close(); } };
}

function serveMachine(ws: WebSocket, machine: RemoteMachine): void {
  let runner: MachineRunner;
  try {
    runner = new MachineRunner(machine.config());
  } catch (e) {
    send(ws, { t: 'state', state: { kind: 'stopped', reason: (e as Error).message } });
    ws.close();
    return;
  }
  let closed = false;
  let scheduled = false;
  let reported = '';

  const report = (state: RunnerState): void => {
    const key = JSON.stringify(state);
    if (key !== reported) { reported = key; send(ws, { t: 'state', state }); }
  };
  const sample = (): void => send(ws, { t: 'sample', sample: sampleMachine(runner.machine, runner.generation) });
  const tick = (): void => {
    scheduled = false;
    if (closed) return;
    if (ws.bufferedAmount > BACKLOG) { scheduled = true; setTimeout(tick, 10); return; }
    const state = runner.run(BUDGET_MS);
    const out = runner.takeOutput();
    if (out.length > 0) ws.send(out);
    report(state);
    if (state.kind !== 'running') sample();
    schedule();
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The next slice, when the machine's virtual time is due (runner.aheadMs), or at once (`now`, after a key). */
  const schedule = (now = false): void => {
    if (closed || !runner.wantsToRun) return;
    if (scheduled && (!now || timer === undefined)) return;
    clearTimeout(timer);
    timer = undefined;
    scheduled = true;
    const wait = now ? 0 : Math.min(runner.aheadMs, 100);
    if (wait >= 1) timer = setTimeout(() => { timer = undefined; tick(); }, wait);
    else setImmediate(tick);
  };

  const save = (): void => {
    let bytes: Uint8Array;
    try {
      bytes = runner.save(snapshotCodec);
    } catch (e) {
      send(ws, { t: 'refused', message: `save state: ${(e as Error).message}` });
      return;
    }
    send(ws, { t: 'snapshot', name: snapshotFileName(runner.machine.clock.now) });
    ws.send(bytes);
  };
  const load = (name: string, bytes: Uint8Array): void => {
    try {
      runner.load(name, bytes, { codec: snapshotCodec, openDisk: snapshotDiskOpener(machine.disks) });
    } catch (e) {
      send(ws, { t: 'refused', message: (e as Error).message });
      return;
    }
    send(ws, { t: 'loaded', name });
    sample();
  };

  /** The name of the snapshot whose bytes the next binary frame carries. */
  let upload: string | null = null;
  const sampler = setInterval(sample, SAMPLE_MS);
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      const chunks = (Array.isArray(data) ? data : [data]).map((c) => new Uint8Array(c));
      if (upload !== null) {
        const name = upload;
        upload = null;
        load(name, Buffer.concat(chunks));
      } else for (const c of chunks) runner.input(c);
    } else {
      let m: ToServer;
      try { m = JSON.parse(String(data)) as ToServer; } catch { return; }
      if (m.t === 'pause') runner.pause();
      else if (m.t === 'resume') runner.resume();
      else if (m.t === 'reset') { runner.reset(); sample(); }
      else if (m.t === 'save') save();
      else if (m.t === 'load') upload = String(m.name);
    }
    report(runner.current);
    schedule(isBinary);
  });
  ws.on('close', () => { closed = true; clearInterval(sampler); runner.close(); });
  sample();
  report(runner.current);
  schedule();
}

function send(ws: WebSocket, m: ToPage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}
