/**
 * Errors raised while turning files into arrays. They carry the file and, where it is known, the
 * byte offset (binary formats) or line and column (text formats), so the CLI can print one clear
 * sentence instead of a stack trace, and tests can assert on the location.
 */

export interface DataErrorLocation {
  /** The file (or other named source) the problem was found in. */
  file?: string;
  /** Byte offset into the (decompressed) file, for binary formats. */
  offset?: number;
  /** 1-based line and column, for text formats. */
  line?: number;
  column?: number;
}

export class DataError extends Error {
  readonly file: string | undefined;
  readonly offset: number | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, where: DataErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
    this.file = where.file;
    this.offset = where.offset;
    this.line = where.line;
    this.column = where.column;
  }
}

/** Raised when a named dataset cannot be found anywhere; its message says how to get it. */
export class DatasetNotFoundError extends DataError {
  constructor(message: string, where: DataErrorLocation = {}) {
    super(message, where);
    this.name = 'DatasetNotFoundError';
  }
}

/** Raised by downloads: HTTP failures, truncated bodies and checksum mismatches. */
export class DownloadError extends DataError {
  readonly url: string;
  constructor(message: string, url: string, options?: { cause?: unknown }) {
    super(message, { file: url }, options);
    this.name = 'DownloadError';
    this.url = url;
  }
}

/**
 * Formats a count with thousands separators, for messages ("47,040,016 bytes"). Not
 * toLocaleString: its first call loads ICU data, a visible delay on the embedded dataset's load path.
 */
export function fmtCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
