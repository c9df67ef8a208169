/**
 * Downloads that never leave a partial file behind: the body streams into a temporary file next to
 * the destination while being hashed, the checksums are compared, and only then is the file renamed
 * into place (rename is atomic within a directory). Any failure removes the temporary file.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, renameSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { DownloadError, fmtCount } from './errors.js';

export interface Checksums {
  /** Lower-case hex SHA-256 of the file as served. */
  sha256?: string;
  /** Lower-case hex MD5 of the file as served (what Zalando publishes for Fashion-MNIST). */
  md5?: string;
}

export interface DownloadOptions extends Checksums {
  /** Abort when the whole download takes longer than this. Default 10 minutes. */
  timeoutMs?: number;
  /** Called as bytes arrive; total is null when the server sent no Content-Length. */
  onProgress?: (received: number, total: number | null) => void;
  /** For tests or proxies: the fetch implementation. Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  md5: string;
}

/** Downloads `url` to `dest`, verifying checksums before the file appears at `dest`. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${basename(dest)}.part-${process.pid}-${randomBytes(4).toString('hex')}`);
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  try {
    let res: Response;
    try {
      res = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 600_000), redirect: 'follow' });
    } catch (err) {
      throw new DownloadError(`download of ${url} failed: ${describeFetchError(err)}`, url, { cause: err });
    }
    if (!res.ok) throw new DownloadError(`download of ${url} failed: HTTP ${res.status} ${res.statusText}`.trim(), url);
    if (!res.body) throw new DownloadError(`download of ${url} failed: the response has no body`, url);
    const lengthHeader = res.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;

    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    handle = await open(tmp, 'wx');
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        sha256.update(chunk);
        md5.update(chunk);
        await handle.write(chunk);
        received += chunk.length;
        options.onProgress?.(received, total);
      }
    } catch (err) {
      throw new DownloadError(
        `download of ${url} was interrupted after ${fmtCount(received)} bytes: ${describeFetchError(err)}`,
        url,
        { cause: err },
      );
    }
    await handle.close();
    handle = null;
    if (total !== null && received !== total) {
      throw new DownloadError(
        `download of ${url} is truncated: expected ${fmtCount(total)} bytes, got ${fmtCount(received)}`,
        url,
      );
    }
    const got = { sha256: sha256.digest('hex'), md5: md5.digest('hex') };
    for (const algo of ['sha256', 'md5'] as const) {
      const want = options[algo]?.toLowerCase();
      if (want !== undefined && want !== got[algo]) {
        throw new DownloadError(
          `checksum mismatch for ${url}: expected ${algo.toUpperCase()} ${want}, got ${got[algo]} ` +
            `(${fmtCount(received)} bytes); the file was discarded`,
          url,
        );
      }
    }
    renameSync(tmp, dest);
    return { path: dest, bytes: received, ...got };
  } finally {
    if (handle) await handle.close().catch(() => undefined);
    rmSync(tmp, { force: true });
  }
}

/** undici hides the useful part ("ECONNREFUSED 127.0.0.1:80") in err.cause. */
function describeFetchError(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error) return `${err.message} (${cause.message})`;
    return err.message;
  }
  return String(err);
}
