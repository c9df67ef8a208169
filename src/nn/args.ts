/**
 * Layer arguments as PyTorch takes them: positionally, in PyTorch's order and with its defaults,
 * or by name in a trailing options object, which stands in for Python's keyword arguments:
 *
 *   new nn.MaxPool2d(3, 2)            ≡ nn.MaxPool2d(3, 2)
 *   new nn.MaxPool2d(3, { stride: 2 }) ≡ nn.MaxPool2d(3, stride=2)
 *   new nn.Conv2d(1, 8, 3, 2, { padding: 1 })
 *
 * Names are PyTorch's in camelCase (`ceil_mode` → `ceilMode`). As in Python, an argument given
 * both ways, an unknown name and too many positional arguments are errors.
 */
import { Generator } from '../tensor/random.js';

/**
 * The argument list after a layer's leading required arguments: any prefix of the positional
 * parameters P, optionally followed by an options object O.
 */
export type PosArgs<P extends readonly unknown[], O> = P extends readonly [infer H, ...infer R]
  ? [] | [options: O] | [H, ...PosArgs<R, O>]
  : [] | [options: O];

/** A plain `{ … }` object (not an array, tensor, generator or other class instance). */
export function isOptions(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Resolves positional and named arguments into one record. `names` lists the positional
 * parameters in PyTorch's order; `extra` names options that can only be given by name (aelab's
 * own, such as `generator`). Values given as undefined count as not given.
 */
export function resolveArgs(
  layer: string,
  names: readonly string[],
  args: readonly unknown[],
  extra: readonly string[] = [],
): Record<string, unknown> {
  const last = args[args.length - 1];
  const named = args.length > 0 && isOptions(last) ? last : null;
  const positional = named ? args.slice(0, -1) : args;
  if (positional.length > names.length) {
    throw new TypeError(
      `${layer}: takes at most ${names.length} optional positional argument${names.length === 1 ? '' : 's'} ` +
        `(${names.join(', ')}), got ${positional.length}`,
    );
  }
  const out: Record<string, unknown> = {};
  positional.forEach((v, i) => {
    if (v !== undefined) out[names[i]!] = v;
  });
  if (named) {
    const known = [...names, ...extra];
    for (const [k, v] of Object.entries(named)) {
      if (!known.includes(k)) throw new TypeError(`${layer}: unknown option '${k}' (known: ${known.join(', ')})`);
      if (v === undefined) continue;
      if (k in out) throw new TypeError(`${layer}: got '${k}' twice, as positional argument ${names.indexOf(k) + 1} and in the options`);
      out[k] = v;
    }
  }
  return out;
}

/** Throws unless `v` (when given) is one of `allowed`, saying that the rest is not supported. */
export function onlySupported(layer: string, name: string, v: unknown, allowed: readonly unknown[]): void {
  if (v === undefined || allowed.includes(v)) return;
  throw new Error(
    `${layer}: ${name}=${JSON.stringify(v)} is not supported (supported: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`,
  );
}

/** Checks a value's type for a named argument. */
export function checkArg(layer: string, name: string, v: unknown, kind: 'boolean' | 'number' | 'size2' | 'generator'): void {
  if (v === undefined) return;
  const ok =
    kind === 'boolean'
      ? typeof v === 'boolean'
      : kind === 'number'
        ? typeof v === 'number' && !Number.isNaN(v)
        : kind === 'generator'
          ? v instanceof Generator
          : typeof v === 'number' || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'));
  if (!ok) {
    const want = { boolean: 'true or false', number: 'a number', size2: 'a number or a pair [h, w]', generator: 'a Generator' }[kind];
    throw new TypeError(`${layer}: ${name} must be ${want}, got ${describeValue(v)}`);
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  return `a ${(v as object).constructor?.name ?? 'object'}`;
}
