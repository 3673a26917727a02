/**
 * The machine in the server's Node process (`?remote=1`): for images too
 * big for a tab's memory. Keystrokes, buttons and uploaded snapshots go up
 * the WebSocket; output, run state, CPU samples and saved snapshots come
 * down (protocol.ts).
 */
import type { ToPage, ToServer } from '../protocol.js';
import type { Backend, BackendEvents } from './backend.js';

interface Pending {
  resolve(value: { name: string; bytes: Uint8Array } | void): void;
  reject(e: Error): void;
}

export function connectRemote(url: string, events: BackendEvents): Promise<Backend> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const send = (m: ToServer): void => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  /** The save or load waiting for its answer: the buttons allow one at a time. */
  let pending: Pending | null = null;
  /** Set by a `snapshot` message: the next binary frame is that file, not output. */
  let incoming: string | null = null;
  const settle = (): Pending | null => { const p = pending; pending = null; return p; };
  ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
    if (typeof e.data !== 'string') {
      if (incoming === null) { events.output(new Uint8Array(e.data)); return; }
      const name = incoming;
      incoming = null;
      settle()?.resolve({ name, bytes: new Uint8Array(e.data) });
      return;
    }
    const m = JSON.parse(e.data) as ToPage;
    if (m.t === 'state') events.state(m.state);
    else if (m.t === 'sample') events.sample(m.sample);
    else if (m.t === 'snapshot') incoming = m.name;
    else if (m.t === 'loaded') settle()?.resolve();
    else settle()?.reject(new Error(m.message));
  };
  ws.onclose = () => {
    settle()?.reject(new Error('the connection to the server closed'));
    events.state({ kind: 'stopped', reason: 'the connection to the server closed' });
  };
  const request = <T>(start: () => void): Promise<T> => {
    if (pending) return Promise.reject(new Error('a save or load is already under way'));
    if (ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('the connection to the server is closed'));
    return new Promise<T>((resolve, reject) => {
      pending = { resolve: resolve as Pending['resolve'], reject };
      start();
    });
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({
      mode: 'remote',
      input: (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes); },
      pause: () => send({ t: 'pause' }),
      resume: () => send({ t: 'resume' }),
      reset: () => send({ t: 'reset' }),
      saveState: () => request(() => send({ t: 'save' })),
      loadState: (name, bytes) => request(() => { send({ t: 'load', name }); ws.send(bytes); }),
    });
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
}
