/**
 * The static server behind `aelab lab`: the built lab (one folder) and the datasets it was given,
 * over Node's `http`, to one browser on this machine.
 *
 * Every response is cross-origin isolated (COOP same-origin + COEP require-corp), which is what
 * lets the page create a SharedArrayBuffer and so the wasm backend run its threads. The server
 * serves files only: GET and HEAD, no directory listing, and nothing outside its roots, checked on
 * the real path (symlinks resolved) of every file at every request. Files are streamed, never read
 * whole, so a 47 MB IDX file costs a 64 KiB buffer.
 */
import { constants as fsc, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from './errors.js';

/** A dataset the lab may fetch: only the listed files are served, each under /data/<name>/<file>. */
export interface LabDataset {
  /** URL segment, e.g. 'fashion-mnist': letters, digits, '.', '_', '-'. */
  name: string;
  /** What the files are, for the lab: 'idx', 'png-folder', 'csv', … */
  kind: string;
  /** The folder the files are in; a file whose real path leaves it is not served. */
  root: string;
  /** Paths relative to `root`, with '/' between folders. */
  files: string[];
  /** Where the dataset was found (shown in the index). */
  source?: string;
  /** Class names, when known (shown in the index). */
  classNames?: string[];
  /** Per file: what it holds, e.g. { 'train-images-idx3-ubyte.gz': 'train-images' }. */
  roles?: Record<string, string>;
}

export interface LabServerOptions {
  /** The built lab's folder (index.html at its top). */
  root: string;
  datasets?: LabDataset[];
  /** Address to bind; default 127.0.0.1 (this machine only). */
  host?: string;
  /** Port to try first; 0 lets the system pick one. Default 5173. */
  port?: number;
  /** Fail when `port` is taken instead of trying the next ones. */
  strictPort?: boolean;
}

export interface LabServer {
  /** e.g. http://127.0.0.1:5173/ */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** The URL prefix of the datasets; /data/index.json lists them. */
const DATA_DIR = 'data';
export const DATA_PREFIX = `/${DATA_DIR}/`;

/** How many ports after a taken one are tried before giving up. */
const PORT_TRIES = 20;

/**
 * Allows what a Vite build of the lab needs and nothing else: its own scripts, module workers
 * (and blob: workers), WebAssembly compiled from fetched bytes ('wasm-unsafe-eval' permits
 * WebAssembly.compile/instantiate, not JS eval), inline styles (charts set style attributes), and
 * images drawn into data:/blob: URLs. No plugins, no framing, no form posts elsewhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Referrer-Policy': 'no-referrer',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  // served as the bytes they are (no Content-Encoding): the lab gunzips IDX files itself
  '.gz': 'application/gzip',
};

/** The Content-Type of a file by its name; IDX files (no extension) and the unknown are bytes. */
export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Loopback addresses: the ones that keep the server private to this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A request path as segments under a root, or null when it must not be served: it is decoded
 * once, and rejected when it holds an encoded '/' or '\', a NUL or other control character, a
 * backslash or ':', an empty segment ('//'), a '.' or '..' segment, or a segment starting with '.'
 * (hidden files). '%252e' decodes to the literal name '%2e', which is no traversal.
 */
export function requestSegments(rawPath: string): string[] | null {
  if (!rawPath.startsWith('/')) return null;
  if (/%(2f|5c)/i.test(rawPath)) return null;
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  // ':' too: on Windows 'C:' starts a drive path and 'name::$DATA' names a file's data stream
  if (/[\u0000-\u001f\u007f\\:]/.test(path)) return null;
  if (path === '/') return [];
  const segs = path.slice(1).split('/');
  // a trailing slash names a folder, which is never served except the root
  if (segs.some((s) => s === '' || s.startsWith('.'))) return null;
  return segs;
}

/** `inner` is `outer` or lies inside it (both real paths). */
function inside(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

interface ServedFile {
  path: string;
  stats: Stats;
}

/**
 * The real path of `segs` under `rootReal` when it is a regular file inside the root, else null.
 * realpath resolves every symlink on the way, so a link that leads out of the root is refused.
 */
async function resolveInside(rootReal: string, segs: string[]): Promise<ServedFile | null> {
  let real: string;
  try {
    real = await realpath(join(rootReal, ...segs));
  } catch {
    return null;
  }
  if (!inside(rootReal, real)) return null;
  try {
    const stats = await stat(real);
    return stats.isFile() ? { path: real, stats } : null;
  } catch {
    return null;
  }
}

function checkDatasets(datasets: LabDataset[]): void {
  const seen = new Set<string>();
  for (const d of datasets) {
    if (!SAFE_NAME.test(d.name))
      throw new UserError(`lab dataset name '${d.name}' must be letters, digits, '.', '_' or '-' (it is a URL segment)`);
    if (d.name === 'index.json') throw new UserError(`lab dataset name 'index.json' is taken by the dataset index`);
    if (seen.has(d.name)) throw new UserError(`two lab datasets are named '${d.name}'; give each its own name`);
    seen.add(d.name);
    for (const f of d.files) {
      const segs = requestSegments(`/${f.split('/').map(encodeURIComponent).join('/')}`);
      if (!segs || segs.length === 0)
        throw new UserError(`lab dataset '${d.name}': file '${f}' is not a plain relative path under ${d.root}`);
    }
  }
}

/**
 * Starts the server and resolves once it listens. Binding 127.0.0.1 keeps it private to this
 * machine; requests whose Host header names anything but this server's address, localhost or an
 * IP address are refused (403), so a web page cannot reach it through a domain re-pointed at
 * 127.0.0.1 (DNS rebinding).
 */
export async function startLabServer(options: LabServerOptions): Promise<LabServer> {
  const host = options.host ?? '127.0.0.1';
  const firstPort = options.port ?? 5173;
  const datasets = options.datasets ?? [];
  if (!Number.isInteger(firstPort) || firstPort < 0 || firstPort > 65535)
    throw new UserError(`lab server port must be an integer in 0…65535, got ${firstPort}`);
  checkDatasets(datasets);
  let rootReal: string;
  try {
    rootReal = await realpath(options.root);
    if (!(await stat(rootReal)).isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new UserError(`lab root ${options.root} is not a readable folder (${(e as Error).message})`);
  }
  const dataReal = new Map<string, { set: LabDataset; rootReal: string; files: Set<string> }>();
  for (const d of datasets) {
    let real: string;
    try {
      real = await realpath(d.root);
    } catch (e) {
      throw new UserError(`lab dataset '${d.name}': folder ${d.root} cannot be read (${(e as Error).message})`);
    }
    dataReal.set(d.name, { set: d, rootReal: real, files: new Set(d.files) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // a client that hangs up mid-file ends the stream with an error: nothing left to answer
      // the message stays on the server: it may name paths outside the roots
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });

  let port = 0;
  const allowedHosts = new Set(['localhost', host.toLowerCase().replace(/^\[|\]$/g, '')]);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, `method ${req.method ?? '?'} not allowed: the lab server answers GET and HEAD only\n`);
    }
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    const hostName = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!allowedHosts.has(hostName) && isIP(hostName) === 0)
      return send(res, 403, `host '${hostHeader}' not allowed; use ${urlOf(host, port)}\n`);
    const url = req.url ?? '';
    const segs = requestSegments(url.split('?', 1)[0]!);
    if (!segs) return notFound(res);
    if (segs[0] === DATA_DIR && segs.length > 1) {
      if (segs.length === 2 && segs[1] === 'index.json') return sendJson(req, res, await dataIndex());
      const [name, ...rest] = segs.slice(1);
      const d = name !== undefined ? dataReal.get(name) : undefined;
      if (!d || !d.files.has(rest.join('/'))) return notFound(res);
      const f = await resolveInside(d.rootReal, rest);
      return f ? sendFile(req, res, f, 'no-cache') : notFound(res);
    }
    const f = await resolveInside(rootReal, segs.length === 0 ? ['index.html'] : segs);
    if (!f) return notFound(res);
    // Vite names its build outputs by content hash under assets/: they never change in place
    const cache = segs[0] === 'assets' && segs.length > 1 ? 'public, max-age=31536000, immutable' : 'no-cache';
    return sendFile(req, res, f, cache);
  }

  async function dataIndex(): Promise<unknown> {
    const out = [];
    for (const { set, rootReal: r } of dataReal.values()) {
      const files = [];
      for (const rel of set.files) {
        const f = await resolveInside(r, rel.split('/'));
        if (!f) continue;
        const entry: Record<string, unknown> = {
          path: rel,
          url: `${DATA_PREFIX}${set.name}/${rel.split('/').map(encodeURIComponent).join('/')}`,
          size: f.stats.size,
        };
        if (set.roles?.[rel]) entry.role = set.roles[rel];
        files.push(entry);
      }
      const item: Record<string, unknown> = { name: set.name, kind: set.kind };
      if (set.source) item.source = set.source;
      if (set.classNames) item.classNames = set.classNames;
      item.files = files;
      out.push(item);
    }
    return { datasets: out };
  }

  port = await listen(server, host, firstPort, options.strictPort ?? false);
  return {
    url: urlOf(host, port),
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The URL to open: a wildcard bind is reached through 127.0.0.1; IPv6 addresses in brackets. */
export function urlOf(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
  return `http://${isIP(h) === 6 ? `[${h}]` : h}:${port}/`;
}

function listenOnce(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      server.off('listening', onListening);
      reject(e);
    };
    const onListening = () => {
      server.off('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

async function listen(server: Server, host: string, first: number, strict: boolean): Promise<number> {
  const last = strict || first === 0 ? first : Math.min(65535, first + PORT_TRIES - 1);
  for (let p = first; p <= last; p++) {
    try {
      return await listenOnce(server, host, p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && p < last) continue;
      if (code === 'EADDRINUSE') {
        throw new UserError(
          strict
            ? `port ${first} on ${host} is in use (strict port); stop what uses it or pick another with --port`
            : `ports ${first}…${last} on ${host} are all in use; pick another with --port (0: any free port)`,
        );
      }
      if (code === 'EACCES')
        throw new UserError(`no permission to listen on ${host}:${p} (ports below 1024 need privileges); pick another with --port`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
        throw new UserError(`cannot listen on ${host}:${p}: that address is not one of this machine's (${code})`);
      throw new UserError(`cannot listen on ${host}:${p}: ${(e as Error).message}`);
    }
  }
  throw new UserError(`cannot listen on ${host}:${first}`);
}

function baseHeaders(res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
}

function send(res: ServerResponse, status: number, text: string): void {
  baseHeaders(res);
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse): void {
  send(res, 404, 'not found\n');
}

function sendJson(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  baseHeaders(res);
  const body = Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Streams a file. It is opened with O_NOFOLLOW and its size read from the open descriptor, so
 * the bytes sent are those of the regular file that was checked, and Content-Length matches them.
 */
async function sendFile(req: IncomingMessage, res: ServerResponse, f: ServedFile, cacheControl: string): Promise<void> {
  let fh;
  try {
    fh = await open(f.path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0));
  } catch {
    return notFound(res);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return notFound(res);
    const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    baseHeaders(res);
    res.setHeader('Cache-Control', cacheControl);
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', st.mtime.toUTCString());
    // If-None-Match holds one or more tags, comma-separated (RFC 9110 13.1.2)
    const match = req.headers['if-none-match'];
    if (match !== undefined && match.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': contentType(f.path), 'Content-Length': st.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(fh.createReadStream({ autoClose: false }), res);
  } finally {
    await fh.close();
  }
}
