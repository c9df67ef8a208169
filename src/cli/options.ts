/** Parsing and validating CLI option values, with messages that name the option. */
import { InvalidArgumentError } from 'commander';

export function intOpt(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^[-+]?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
    return n;
  };
}

export function numOpt(name: string, opts: { min?: number; max?: number; minOpen?: boolean; maxOpen?: boolean } = {}) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
    if (opts.min !== undefined && (opts.minOpen ? n <= opts.min : n < opts.min))
      throw new InvalidArgumentError(`${name} must be ${opts.minOpen ? '>' : '≥'} ${opts.min}, got ${v}`);
    if (opts.max !== undefined && (opts.maxOpen ? n >= opts.max : n > opts.max))
      throw new InvalidArgumentError(`${name} must be ${opts.maxOpen ? '<' : '≤'} ${opts.max}, got ${v}`);
    return n;
  };
}

/** "512,256" → [512, 256]; "" or "none" → []. */
export function listOpt(name: string, min = 1) {
  return (v: string): number[] => {
    if (v.trim() === '' || v.trim() === 'none') return [];
    return v.split(',').map((s) => {
      const n = Number(s.trim());
      if (!/^\d+$/.test(s.trim()) || n < min) throw new InvalidArgumentError(`${name} must be a comma-separated list of integers ≥ ${min}, got '${v}'`);
      return n;
    });
  };
}

/** Class lists like "0,1" or "0-4". */
export function classesOpt(name: string) {
  return (v: string): number[] => {
    const out: number[] = [];
    for (const part of v.split(',')) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
      if (!m) throw new InvalidArgumentError(`${name} must list class numbers like '0,1' or '0-4', got '${v}'`);
      const a = Number(m[1]);
      const b = m[2] !== undefined ? Number(m[2]) : a;
      if (b < a) throw new InvalidArgumentError(`${name}: range '${part.trim()}' is backwards`);
      for (let c = a; c <= b; c++) out.push(c);
    }
    return [...new Set(out)].sort((x, y) => x - y);
  };
}
