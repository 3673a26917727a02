/**
 * The machine in the server's Node process (`?remote=1`): for images too
 * big for a tab's memory. Keystrokes and buttons go up the WebSocket;
 * output, run state and CPU samples come down (protocol.ts).
 */
import type { ToPage, ToServer } from '../protocol.js';
import type { Backend, BackendEvents } from './backend.js';

export function connectRemote(url: string, events: BackendEvents): Promise<Backend> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const send = (m: ToServer): void => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  ws.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
    if (typeof e.data !== 'string') { events.output(new Uint8Array(e.data)); return; }
    const m = JSON.parse(e.data) as ToPage;
    if (m.t === 'state') events.state(m.state);
    else events.sample(m.sample);
  };
  ws.onclose = () => events.state({ kind: 'stopped', reason: 'the connection to the server closed' });
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({
      mode: 'remote',
      input: (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes); },
      pause: () => send({ t: 'pause' }),
      resume: () => send({ t: 'resume' }),
      reset: () => send({ t: 'reset' }),
    });
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
}
