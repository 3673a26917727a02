/**
 * Remote mode (`?remote=1`): each WebSocket connection gets its own machine
 * in this process, run in setImmediate-chained slices like `emu boot` runs
 * its machine, with output, run state and CPU samples streamed to the page
 * (protocol.ts). `ws` is loaded only here, so `emu run` and `emu boot`
 * never pay for it.
 */
import type { Server } from 'node:http';
import type { WebSocket } from 'ws';
import { MachineRunner, type RunnerConfig, type RunnerState } from '../runner.js';
import { sampleMachine } from '../cpu-sample.js';
import type { ToPage, ToServer } from '../protocol.js';

/** Host milliseconds per slice: short enough for keystrokes and other connections to get through. */
const BUDGET_MS = 20;
const SAMPLE_MS = 500;
/** Output the socket has not yet sent past which the machine waits: a guest printing in a loop must not fill memory. */
const BACKLOG = 1 << 20;

export async function attachRemote(server: Server, path: string, config: RunnerConfig): Promise<{ close(): void }> {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) { socket.destroy(); return; }
    wss.handleUpgrade(req, socket, head, (ws) => serveMachine(ws, config));
  });
  return { close: () => { for (const ws of wss.clients) ws.terminate(); wss.close(); } };
}

function serveMachine(ws: WebSocket, config: RunnerConfig): void {
  let runner: MachineRunner;
  try {
    runner = new MachineRunner(config);
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
  const schedule = (): void => {
    if (scheduled || closed || !runner.wantsToRun) return;
    scheduled = true;
    setImmediate(tick);
  };

  const sampler = setInterval(sample, SAMPLE_MS);
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      for (const c of Array.isArray(data) ? data : [data]) runner.input(new Uint8Array(c));
    } else {
      let m: ToServer;
      try { m = JSON.parse(String(data)) as ToServer; } catch { return; }
      if (m.t === 'pause') runner.pause();
      else if (m.t === 'resume') runner.resume();
      else if (m.t === 'reset') { runner.reset(); sample(); }
    }
    report(runner.current);
    schedule();
  });
  ws.on('close', () => { closed = true; clearInterval(sampler); });
  sample();
  report(runner.current);
  schedule();
}

function send(ws: WebSocket, m: ToPage): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
}
