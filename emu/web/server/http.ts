/**
 * The HTTP side of `emu serve` (Node): the page's files from dist/web, the
 * machine's configuration at /config.json, the kernel, modules and disk
 * images (/drive/N, streamed: they may be large) as bytes for the page to
 * boot, and the WebSocket of remote mode. Only those paths exist: nothing
 * else of the host's file system is reachable.
 */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Images, PageConfig } from '../page-config.js';
import { WS_PATH } from '../protocol.js';
import { attachRemote, type RemoteMachine } from './remote.js';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The built page (dist/web). */
  webRoot: string;
  page: PageConfig;
  images: Images;
  /** The host file behind each of `page.drives`, in order. */
  driveFiles: string[];
  /** The machine remote mode builds: the same one the page builds from `page` and `images`. */
  machine: RemoteMachine;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string): void {
  fs.stat(file, (err, st) => {
    if (err) { res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`); return; }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store', 'Content-Length': st.size });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  if (!fs.existsSync(path.join(o.webRoot, 'index.html'))) {
    throw new Error(`serve: the page is not built (${o.webRoot}/index.html is missing); run 'npm run build'`);
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, type: string, body: string | Uint8Array): void => {
      // The page, its image and its config change whenever `emu serve` restarts with other options.
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'text/plain', 'method not allowed\n'); return; }
    const p = url.pathname;
    // Browsers ask for one unprompted; "no content" keeps a 404 out of the page's console.
    if (p === '/favicon.ico') { res.writeHead(204).end(); return; }
    if (p === '/config.json') { send(200, 'application/json', JSON.stringify(o.page)); return; }
    if (o.page.kernel && o.images.kernel && p === o.page.kernel.url) { send(200, 'application/octet-stream', o.images.kernel); return; }
    const drive = o.page.drives.findIndex((d) => d.url === p);
    if (drive >= 0) { sendFile(req, res, o.driveFiles[drive]); return; }
    const mod = o.page.modules.findIndex((m) => m.url === p);
    if (mod >= 0) { send(200, 'application/octet-stream', o.images.modules[mod]); return; }
    const file = p === '/' ? 'index.html' : p.slice(1);
    // One flat folder of built files: a name with no slash cannot leave it.
    if (/^[\w-]+(\.[\w-]+)+$/.test(file) && TYPES[path.extname(file)]) {
      fs.readFile(path.join(o.webRoot, file), (err, data) => {
        if (err) send(404, 'text/plain', 'not found\n');
        else send(200, TYPES[path.extname(file)], data);
      });
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  const remote = await attachRemote(server, WS_PATH, o.machine);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => { server.off('error', reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => {
      remote.close();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
