#!/usr/bin/env node
// aelab's side-by-side throughput benchmark: `npm run bench` (see bench/README.md).
//
// Trains the same autoencoders with the same data and hyperparameters on aelab (wasm, js),
// TensorFlow.js (wasm, cpu) and PyTorch, each configuration in its own child process, repeated
// (round-robin, so a burst of load on this shared machine hits every row alike), and prints the
// median samples/s side by side with ratios against PyTorch and TF.js wasm, next to the targets.
//
//   node bench/run.mjs [--models mlp,conv,gemm] [--only aelab-wasm,torch,...] [--steps 30]
//                      [--warmup 5] [--repeats 3] [--quick] [--json] [--no-build] [--dist DIR]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_TRAIN, MODEL_DESC, RESULT_MARK, median } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CORES = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;

// ---- options -----------------------------------------------------------------------------------

const HELP = `usage: node bench/run.mjs [options]       (npm run bench -- [options])

  --models LIST     mlp,conv,gemm (default: all three; gemm = GEMM GFLOP/s rows)
  --only LIST       row ids (default: all): aelab-wasm, aelab-wasm-1t, aelab-js, tfjs-wasm,
                    tfjs-cpu, torch, torch-1t, torch-refblas; or groups: aelab, tfjs, torch
  --steps N         timed training steps per run (default 30)
  --warmup N        untimed steps before them (default 5)
  --repeats N       runs per row, each in a fresh process; the median is reported (default 3)
  --max-seconds S   stop a run's timed phase after S seconds (≥ 3 steps) (default 90)
  --quick           2 warm-up + 10 timed steps, 1 repeat, short GEMM timing
  --threads N       "all cores" thread count (default: ${CORES})
  --json            print the results as JSON on stdout (progress still goes to stderr)
  --out FILE        also write the JSON there (default bench/out/last.json)
  --dist DIR        the built library to benchmark (default dist/, built if missing or stale)
  --no-build        never run the build
  --python PATH     Python with torch (default /usr/bin/python3)
  --torch-blas M    openblas (default: Debian's libopenblas0-openmp unpacked under bench/out/)
                    or system (whatever libblas.so.3 is installed)
  --timeout S       kill a child that has not finished after S seconds (default 4·max-seconds + 120)
`;

function parseArgs(argv) {
  const o = {
    models: ['mlp', 'conv', 'gemm'],
    only: null,
    steps: 30,
    warmup: 5,
    repeats: 3,
    maxSeconds: 90,
    gemmSeconds: 1.5,
    threads: CORES,
    json: false,
    out: join(HERE, 'out', 'last.json'),
    dist: null,
    build: true,
    python: '/usr/bin/python3',
    torchBlas: 'openblas',
    timeout: null,
  };
  const need = (i) => {
    if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  const int = (i) => {
    const v = Number(need(i));
    if (!Number.isFinite(v) || v < 0) throw new Error(`${argv[i]}: expected a non-negative number, got '${argv[i + 1]}'`);
    return v;
  };
  let quick = false;
  const set = new Set();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      argv.splice(i, 1, a.slice(0, eq), a.slice(eq + 1));
      i--;
      continue;
    }
    switch (a) {
      case '--models':
        o.models = need(i).split(',').filter(Boolean);
        i++;
        break;
      case '--only':
        o.only = need(i).split(',').filter(Boolean);
        i++;
        break;
      case '--steps':
        o.steps = int(i);
        set.add('steps');
        i++;
        break;
      case '--warmup':
        o.warmup = int(i);
        set.add('warmup');
        i++;
        break;
      case '--repeats':
        o.repeats = Math.max(1, int(i));
        set.add('repeats');
        i++;
        break;
      case '--max-seconds':
        o.maxSeconds = int(i);
        set.add('maxSeconds');
        i++;
        break;
      case '--threads':
        o.threads = Math.max(1, int(i));
        i++;
        break;
      case '--quick':
        quick = true;
        break;
      case '--json':
        o.json = true;
        break;
      case '--out':
        o.out = resolve(need(i));
        i++;
        break;
      case '--dist':
        o.dist = resolve(need(i));
        i++;
        break;
      case '--no-build':
        o.build = false;
        break;
      case '--python':
        o.python = need(i);
        i++;
        break;
      case '--torch-blas':
        o.torchBlas = need(i);
        i++;
        break;
      case '--timeout':
        o.timeout = int(i);
        i++;
        break;
      case '-h':
      case '--help':
        process.stdout.write(HELP);
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`unknown option '${a}' (see --help)`);
    }
  }
  if (quick) {
    if (!set.has('steps')) o.steps = 10;
    if (!set.has('warmup')) o.warmup = 2;
    if (!set.has('repeats')) o.repeats = 1;
    if (!set.has('maxSeconds')) o.maxSeconds = 20;
    o.gemmSeconds = 0.5;
  }
  if (o.timeout === null) o.timeout = 4 * o.maxSeconds + 120;
  if (o.steps < 1) throw new Error('--steps must be at least 1');
  for (const m of o.models) if (!['mlp', 'conv', 'gemm'].includes(m)) throw new Error(`--models: unknown '${m}' (mlp, conv, gemm)`);
  if (!['openblas', 'system'].includes(o.torchBlas)) throw new Error(`--torch-blas: 'openblas' or 'system', got '${o.torchBlas}'`);
  return o;
}

// ---- rows --------------------------------------------------------------------------------------

/** Every configuration the bench knows. `torch-refblas` appears only when it differs from `torch`. */
function rowDefs(o) {
  const n = o.threads;
  return [
    { id: 'aelab-wasm', engine: 'aelab', backend: 'wasm', threads: n, label: `aelab wasm (${n} thr)` },
    { id: 'aelab-wasm-1t', engine: 'aelab', backend: 'wasm', threads: 1, label: 'aelab wasm (1 thr)' },
    { id: 'aelab-js', engine: 'aelab', backend: 'js', threads: 1, label: 'aelab js' },
    { id: 'tfjs-wasm', engine: 'tfjs', backend: 'wasm', threads: 1, label: 'TF.js wasm' },
    { id: 'tfjs-cpu', engine: 'tfjs', backend: 'cpu', threads: 1, label: 'TF.js cpu' },
    { id: 'torch', engine: 'torch', threads: n, blas: o.torchBlas, label: `PyTorch (${n} thr)` },
    { id: 'torch-1t', engine: 'torch', threads: 1, blas: o.torchBlas, label: 'PyTorch (1 thr)' },
    { id: 'torch-refblas', engine: 'torch', threads: n, blas: 'system', label: `PyTorch, system BLAS (${n} thr)` },
  ];
}

function selected(o, rows) {
  let out = rows;
  if (o.torchBlas === 'system') out = out.filter((r) => r.id !== 'torch-refblas');
  if (!o.only) return out;
  const known = new Set(rows.map((r) => r.id));
  for (const w of o.only)
    if (!known.has(w) && !['aelab', 'tfjs', 'torch'].includes(w))
      throw new Error(`--only: unknown row '${w}' (known: ${[...known].join(', ')}, or aelab, tfjs, torch)`);
  return out.filter((r) => o.only.includes(r.id) || o.only.includes(r.engine));
}

// ---- environment probes ------------------------------------------------------------------------

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (/\.(ts|mjs|js)$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** Makes sure a built library exists. Returns { dist, ok, note }. */
function ensureDist(o) {
  if (o.dist) {
    const ok = existsSync(join(o.dist, 'index.js'));
    return { dist: o.dist, ok, note: ok ? null : `no index.js in ${o.dist}` };
  }
  const dist = join(ROOT, 'dist');
  const idx = join(dist, 'index.js');
  const exists = existsSync(idx);
  const stale = exists && newestMtime(join(ROOT, 'src')) > statSync(idx).mtimeMs;
  if (exists && !stale) return { dist, ok: true, note: null };
  if (!o.build) {
    return exists
      ? { dist, ok: true, note: 'dist/ is older than src/ (--no-build): benchmarking the old build' }
      : { dist, ok: false, note: 'dist/ missing and --no-build given: run `npm run build`' };
  }
  log(`${exists ? 'dist/ is older than src/' : 'dist/ missing'}: running \`npm run build\` (node tools/build.mjs) …`);
  const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status === 0) return { dist, ok: true, note: null };
  if (existsSync(idx)) {
    const first = out.split('\n').find((l) => /error/i.test(l)) ?? out.split('\n')[0];
    log(`build reported errors (exit ${r.status}); tsc still emitted dist/, benchmarking it. First error: ${first}`);
    return { dist, ok: true, note: `build exited ${r.status} (${first}); benchmarked what tsc emitted` };
  }
  return { dist, ok: false, note: `build failed (exit ${r.status}): ${out.split('\n').slice(-3).join(' | ')}` };
}

function probeTorch(o) {
  const r = spawnSync(o.python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${o.python} not runnable (${r.error.code ?? r.error.message})` };
  if (r.status !== 0) return { ok: false, why: `\`${o.python} -c "import torch"\` failed: ${(r.stderr || '').trim().split('\n').pop()}` };
  const version = r.stdout.trim();
  let blasNote = null;
  if (o.torchBlas === 'openblas') {
    const s = spawnSync(o.python, [join(HERE, 'torch_ref.py'), '--setup-openblas'], { encoding: 'utf8' });
    try {
      const j = JSON.parse(s.stdout.trim().split('\n').pop());
      if (!j.ok) blasNote = `OpenBLAS not available (${j.error}); PyTorch rows use the system BLAS`;
    } catch {
      blasNote = `torch_ref.py --setup-openblas failed: ${(s.stderr || '').trim().split('\n').pop()}`;
    }
  }
  return { ok: true, version, blasNote };
}

function tfjsVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

// ---- running children --------------------------------------------------------------------------

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

function runChild(cmd, args, { timeout, stall, env, parse }) {
  return new Promise((res) => {
    const t0 = Date.now();
    const load = os.loadavg()[0];
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    // Workers print `@@BENCH_STEP i ms` on stderr after every step; a child that prints nothing
    // for `stall` seconds is hung (a deadlocked thread pool, say) and is killed.
    let lastStep = -1;
    let lastOutput = Date.now();
    let killedFor = null;
    child.stdout.on('data', (d) => {
      out += d;
      lastOutput = Date.now();
    });
    child.stderr.on('data', (d) => {
      lastOutput = Date.now();
      const text = String(d);
      for (const m of text.matchAll(/@@BENCH_STEP (\d+)/g)) lastStep = Number(m[1]);
      err += text.replace(/@@BENCH_STEP [^\n]*\n/g, '');
    });
    const kill = (why) => {
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(`no result after ${timeout} s (--timeout)`), timeout * 1000);
    const watchdog = setInterval(() => {
      const idle = (Date.now() - lastOutput) / 1000;
      if (idle > stall)
        kill(`hung: no progress for ${Math.round(idle)} s ${lastStep >= 0 ? `after step ${lastStep + 1}` : 'before the first step'}`);
    }, 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      res({ ok: false, error: `could not start ${cmd}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watchdog);
      const wall = (Date.now() - t0) / 1000;
      const loadAfter = os.loadavg()[0];
      let r = null;
      try {
        r = parse(out);
      } catch {
        r = null;
      }
      if (!r) {
        const tail = (err || out).trim().split('\n').slice(-4).join(' | ');
        r = {
          ok: false,
          error: killedFor ? `${killedFor}; killed` : signal ? `killed by ${signal} after ${wall.toFixed(0)} s` : `exit ${code}: ${tail}`,
        };
      }
      r.wallSeconds = wall;
      r.load1 = Math.max(load, loadAfter);
      res(r);
    });
  });
}

const parseWorker = (out) => {
  const line = out
    .split('\n')
    .filter((l) => l.startsWith(RESULT_MARK))
    .pop();
  return line ? JSON.parse(line.slice(RESULT_MARK.length)) : null;
};
const parseLastJson = (out) => JSON.parse(out.trim().split('\n').pop());

function jobCommand(o, env, row, model) {
  if (row.engine === 'torch') {
    const py = join(HERE, 'torch_ref.py');
    const common = ['--threads', String(row.threads), '--blas', row.blas];
    if (model === 'gemm')
      return [o.python, [py, '--gemm', '512x512x512,128x784x512', '--gemm-seconds', String(o.gemmSeconds), ...common], parseLastJson];
    return [
      o.python,
      [py, '--models', model, '--warmup', String(o.warmup), '--steps', String(o.steps), '--max-seconds', String(o.maxSeconds), ...common],
      parseLastJson,
    ];
  }
  const cfg =
    model === 'gemm'
      ? {
          kind: 'gemm',
          engine: row.engine,
          backend: row.backend,
          threads: row.threads,
          sizes: [
            [512, 512, 512],
            [128, 784, 512],
          ],
          seconds: o.gemmSeconds,
          dist: env.dist,
        }
      : {
          kind: 'train',
          engine: row.engine,
          backend: row.backend,
          threads: row.threads,
          model,
          warmup: o.warmup,
          steps: o.steps,
          maxSeconds: o.maxSeconds,
          dist: env.dist,
        };
  return [process.execPath, [join(HERE, 'worker.mjs'), JSON.stringify(cfg)], parseWorker];
}

/** Why a row cannot run at all, decided before spawning anything (null when it may run). */
function staticReason(env, row, model) {
  if (row.engine === 'aelab') {
    if (!env.distOk) return `aelab not built: ${env.distNote}`;
    if (row.backend === 'wasm' && !existsSync(join(env.dist, 'kernels', 'wasm', 'index.js')))
      return existsSync(join(ROOT, 'src', 'kernels', 'wasm', 'index.ts'))
        ? 'wasm backend not built (src/kernels/wasm/index.ts exists but dist/kernels/wasm/index.js does not: npm run build)'
        : 'wasm backend not built yet (no src/kernels/wasm/index.ts)';
  }
  if (row.engine === 'tfjs' && model === 'gemm') return 'skip';
  if (row.engine === 'tfjs' && !env.tfjs) return 'TensorFlow.js not installed (npm install)';
  if (row.engine === 'torch' && !env.torch.ok) return env.torch.why;
  return null;
}

// ---- formatting --------------------------------------------------------------------------------

const fmtRate = (x) => (!Number.isFinite(x) ? '–' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
const fmtRatio = (x) => (!Number.isFinite(x) ? '–' : x >= 10 ? `${x.toFixed(0)}×` : x >= 1 ? `${x.toFixed(2)}×` : `${x.toFixed(3)}×`);
const fmtMb = (x) => (Number.isFinite(x) ? `${Math.round(x)} MB` : '–');
const fmtLoss = (a, b) =>
  Number.isFinite(a) && Number.isFinite(b) ? `${a.toFixed(3)}→${b.toFixed(3)} ${b < a ? 'ok' : 'NOT DECREASING'}` : '–';
const mark = (ok) => (ok === null ? 'n/a' : ok ? 'PASS' : 'FAIL');

/** A text table; a row given as { label, text } spans every column after the first. */
function table(headers, rows, align) {
  const cellRows = rows.filter((r) => Array.isArray(r));
  const w = headers.map((h, i) =>
    Math.max(
      h.length,
      ...cellRows.map((r) => String(r[i] ?? '').length),
      ...(i === 0 ? rows.map((r) => String(r.label ?? '').length) : []),
    ),
  );
  const line = (cells) =>
    !Array.isArray(cells)
      ? `${cells.label.padEnd(w[0])}  ${cells.text}`
      : cells
          .map((c, i) => {
            const s = String(c ?? '');
            return align[i] === 'r' ? s.padStart(w[i]) : s.padEnd(w[i]);
          })
          .join('  ')
          .trimEnd();
  return [line(headers), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

function clip(s, n = 110) {
  s = String(s).replace(/\s+/g, ' ');
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// ---- main --------------------------------------------------------------------------------------

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    log(`bench: ${e.message}`);
    process.exit(2);
  }
  const rows = selected(o, rowDefs(o));
  const trainModels = o.models.filter((m) => m !== 'gemm');
  const needAelab = rows.some((r) => r.engine === 'aelab');
  const needTorch = rows.some((r) => r.engine === 'torch');

  const env = { dist: null, distOk: false, distNote: null, tfjs: tfjsVersion(), torch: { ok: false, why: 'not selected' } };
  if (needAelab) {
    const d = ensureDist(o);
    Object.assign(env, { dist: d.dist, distOk: d.ok, distNote: d.note });
  }
  if (needTorch) env.torch = probeTorch(o);
  const dataNote = existsSync(FASHION_TRAIN)
    ? `Fashion-MNIST train images (${FASHION_TRAIN}), first ${(o.warmup + o.steps) * 128}`
    : `RANDOM DATA: ${FASHION_TRAIN} not found (apt-get install dataset-fashion-mnist)`;

  // Jobs: one per (model, row); repeats run round-robin.
  const jobs = [];
  for (const model of [...trainModels, ...(o.models.includes('gemm') ? ['gemm'] : [])])
    for (const row of rows) {
      const why = staticReason(env, row, model);
      if (why === 'skip') continue;
      jobs.push({ model, row, why, runs: [] });
    }

  const started = new Date();
  log(
    `aelab bench: ${jobs.length} jobs × ${o.repeats} repeats; ${o.warmup} warm-up + ${o.steps} timed steps; ${CORES} cores; load ${os.loadavg()[0].toFixed(2)}`,
  );
  for (let rep = 0; rep < o.repeats; rep++) {
    for (const job of jobs) {
      if (job.why) continue;
      // A configuration that cannot run (missing kernel, backend unavailable) fails again; a hang or
      // crash may be intermittent, so those rows keep their repeats and report how many failed.
      if (job.runs.some((r) => !r.ok && r.deterministic)) continue;
      if (job.tooSlow) continue;
      const [cmd, args, parse] = jobCommand(o, env, job.row, job.model);
      const r = await runChild(cmd, args, {
        timeout: o.timeout,
        stall: job.model === 'gemm' ? 120 : o.maxSeconds + 60,
        env: { AELAB_BENCH_HEARTBEAT: '1' },
        parse,
      });
      if (!r.ok) r.deterministic = /cannot train|unavailable|not registered|not built|unknown|not installed/i.test(r.error ?? '');
      job.runs.push(r);
      // A row so slow that it hit the time budget is not repeated (TF.js cpu on the conv AE).
      if (r.ok && r.wallSeconds > 2.5 * o.maxSeconds && rep + 1 < o.repeats) {
        job.tooSlow = `${job.runs.length} run(s) only: one took ${Math.round(r.wallSeconds)} s (time budget --max-seconds ${o.maxSeconds})`;
      }
      const what = r.ok
        ? job.model === 'gemm'
          ? r.gemm.map((g) => `${g.M}×${g.K}×${g.N}: ${g.gflops.toFixed(1)} GFLOP/s`).join(', ')
          : `${fmtRate(r.samplesPerSec)} samples/s, loss ${fmtLoss(r.lossFirst, r.lossLast)}, ${fmtMb(r.peakRssMb)}`
        : `failed: ${clip(r.error, 300)}`;
      log(
        `[${rep + 1}/${o.repeats}] ${job.model.padEnd(4)} ${job.row.id.padEnd(13)} ${what} (load ${r.load1.toFixed(2)}, ${r.wallSeconds.toFixed(1)} s)`,
      );
    }
  }

  // ---- aggregate --------------------------------------------------------------------------------
  const summary = { meta: {}, train: {}, gemm: [], startup: [], targets: [] };
  const loads = jobs.flatMap((j) => j.runs.map((r) => r.load1));
  summary.meta = {
    started: started.toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: CORES,
    threadsAll: o.threads,
    steps: o.steps,
    warmup: o.warmup,
    repeats: o.repeats,
    batch: 128,
    optimizer: 'Adam lr 1e-3',
    loss: 'BCE (mean) against the input',
    data: dataNote,
    tfjs: env.tfjs,
    torch: env.torch.ok ? env.torch.version : null,
    torchNote: env.torch.blasNote ?? null,
    dist: env.dist,
    distNote: env.distNote,
    load1: loads.length ? { min: Math.min(...loads), max: Math.max(...loads) } : null,
  };

  const agg = (job) => {
    const ok = job.runs.filter((r) => r.ok);
    const fail = job.runs.find((r) => !r.ok);
    const base = { id: job.row.id, label: job.row.label, engine: job.row.engine, model: job.model };
    if (job.why) return { ...base, status: 'n/a', reason: job.why };
    if (!ok.length) return { ...base, status: 'failed', reason: fail?.error ?? 'no result', stack: fail?.stack };
    const rates = ok.map((r) => r.samplesPerSec);
    const med = median(rates);
    // Report the run closest to the median for the per-run fields (loss, RSS).
    const rep = ok.reduce((a, b) => (Math.abs(b.samplesPerSec - med) < Math.abs(a.samplesPerSec - med) ? b : a));
    return {
      ...base,
      status: 'ok',
      threads: rep.threads,
      samplesPerSec: med,
      min: Math.min(...rates),
      max: Math.max(...rates),
      runs: rates,
      // samples/s of each repeat in order (null where that run failed), to pair rows run back to back
      byRepeat: job.runs.map((r) => (r.ok ? r.samplesPerSec : null)),
      peakRssMb: median(ok.map((r) => r.peakRssMb)),
      lossFirst: rep.lossFirst,
      lossLast: rep.lossLast,
      lossDecreased: ok.every((r) => r.lossLast < r.lossFirst),
      version: rep.version,
      backend: rep.backend,
      blas: rep.blas,
      ompWaitPolicy: rep.ompWaitPolicy,
      notes: [
        ...new Set([
          ...ok.flatMap((r) => r.notes ?? []),
          ...(job.tooSlow ? [job.tooSlow] : []),
          ...(fail ? [`${job.runs.length - ok.length} of ${job.runs.length} runs FAILED: ${clip(fail.error, 160)}`] : []),
          ...(rep.timedSteps < o.steps ? [`time budget: ${rep.warmupSteps} warm-up + ${rep.timedSteps} timed step(s) per run`] : []),
        ]),
      ],
      startup: rep.startup ? Object.fromEntries(Object.keys(rep.startup).map((k) => [k, median(ok.map((r) => r.startup[k]))])) : undefined,
      load1: ok.map((r) => r.load1),
    };
  };

  const out = [];
  for (const model of trainModels) {
    const rs = jobs.filter((j) => j.model === model).map(agg);
    const torchRows = rs.filter((r) => r.engine === 'torch' && r.status === 'ok' && r.id !== 'torch-refblas');
    const torchBest = torchRows.length ? torchRows.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a)) : null;
    const tfw = rs.find((r) => r.id === 'tfjs-wasm');
    const tfwRate = tfw?.status === 'ok' ? tfw.samplesPerSec : NaN;
    for (const r of rs) {
      if (r.status !== 'ok') continue;
      r.vsTorch = torchBest ? r.samplesPerSec / torchBest.samplesPerSec : NaN;
      r.vsTfjsWasm = r.samplesPerSec / tfwRate;
    }
    // aelab wasm against PyTorch repeat by repeat: each repeat runs every row back to back, so a
    // pair shares the machine's state of that moment (the targets still use the medians).
    const awRow = rs.find((r) => r.id === 'aelab-wasm' && r.status === 'ok');
    const pairs =
      awRow && torchBest
        ? awRow.byRepeat.flatMap((a, k) => (a !== null && torchBest.byRepeat[k] != null ? [a / torchBest.byRepeat[k]] : []))
        : [];
    summary.train[model] = {
      description: MODEL_DESC[model],
      torchBaseline: torchBest?.id ?? null,
      rows: rs,
      pairs: pairs.length ? { ratios: pairs, median: median(pairs) } : null,
    };

    // Targets: aelab wasm on all cores.
    const aw = rs.find((r) => r.id === 'aelab-wasm');
    const ok = aw?.status === 'ok';
    const valid = ok && aw.lossDecreased;
    const flaky = ok && aw.notes.some((n) => /runs FAILED/.test(n));
    summary.targets.push({
      target: `${model} AE ≥ 1.0× PyTorch`,
      value: ok ? aw.vsTorch : null,
      pass: valid && torchBest ? aw.vsTorch >= 1.0 : null,
      caveat: flaky ? 'some aelab-wasm runs failed' : null,
      why: !aw
        ? 'aelab-wasm not selected'
        : !ok
          ? aw.reason
          : !torchBest
            ? 'no PyTorch row'
            : !aw.lossDecreased
              ? 'aelab loss did not decrease'
              : null,
    });
    summary.targets.push({
      target: `${model} AE ≥ 10× TF.js wasm`,
      value: ok ? aw.vsTfjsWasm : null,
      caveat: flaky ? 'some aelab-wasm runs failed' : null,
      pass: valid && Number.isFinite(tfwRate) ? aw.vsTfjsWasm >= 10 : null,
      why: !aw
        ? 'aelab-wasm not selected'
        : !ok
          ? aw.reason
          : !Number.isFinite(tfwRate)
            ? `TF.js wasm has no ${model} number (${tfw?.reason ?? 'not selected'})`
            : null,
    });
    for (const r of rs)
      if (r.engine === 'aelab' && r.status === 'ok' && r.startup) summary.startup.push({ id: r.id, label: r.label, model, ...r.startup });
  }

  if (o.models.includes('gemm')) {
    for (const job of jobs.filter((j) => j.model === 'gemm')) {
      const ok = job.runs.filter((r) => r.ok);
      const base = { id: job.row.id, label: job.row.label };
      if (job.why) {
        summary.gemm.push({ ...base, status: 'n/a', reason: job.why });
        continue;
      }
      if (!ok.length) {
        summary.gemm.push({ ...base, status: 'failed', reason: job.runs.find((r) => !r.ok)?.error });
        continue;
      }
      const sizes = ok[0].gemm.map((g, i) => ({
        M: g.M,
        K: g.K,
        N: g.N,
        gflops: median(ok.map((r) => r.gemm[i].gflops)),
        best: Math.max(...ok.map((r) => r.gemm[i].best)),
        relErr: ok[0].gemm[i].relErr,
      }));
      const gfail = job.runs.find((r) => !r.ok);
      summary.gemm.push({
        ...base,
        status: 'ok',
        threads: ok[0].threads,
        blas: ok[0].blas,
        sizes,
        peakRssMb: median(ok.map((r) => r.peakRssMb)),
        notes: gfail ? [`${job.runs.length - ok.length} of ${job.runs.length} runs FAILED: ${clip(gfail.error, 160)}`] : [],
      });
    }
    const aw = summary.gemm.find((g) => g.id === 'aelab-wasm');
    const g512 = aw?.status === 'ok' ? aw.sizes.find((s) => s.M === 512) : null;
    summary.targets.push({
      target: `GEMM ≥ 50 GFLOP/s at 512³ with ${o.threads} threads (aelab wasm)`,
      value: g512 ? g512.gflops : null,
      pass: g512 ? g512.gflops >= 50 : null,
      why: !aw ? 'aelab-wasm not selected' : aw.status !== 'ok' ? aw.reason : null,
    });
  }
  const st = summary.startup.filter((s) => s.id === 'aelab-wasm');
  if (trainModels.length)
    summary.targets.push({
      target: 'first training step ≤ 1 s after process start (aelab wasm)',
      value: st.length ? Math.max(...st.map((s) => s.toFirstStepMs)) : null,
      pass: st.length ? st.every((s) => s.toFirstStepMs <= 1000) : null,
      why: st.length ? null : (summary.train[trainModels[0]]?.rows.find((r) => r.id === 'aelab-wasm')?.reason ?? 'aelab-wasm not selected'),
    });

  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stdout.write(render(summary, o));
  log(`(JSON written to ${o.out})`);
}

function render(s, o) {
  const m = s.meta;
  const L = [];
  L.push('');
  L.push(
    `aelab bench — ${m.started.slice(0, 19)}Z — ${m.cpu}, ${m.cores} cores, Node ${m.node}, TF.js ${m.tfjs ?? '–'}, PyTorch ${m.torch ?? '–'}`,
  );
  L.push(`data: ${m.data}`);
  L.push(
    `batch ${m.batch}, ${m.optimizer}, ${m.loss}; ${m.warmup} warm-up + ${m.steps} timed steps per run; median of ${m.repeats} run(s), each in a fresh process`,
  );
  if (m.load1)
    L.push(
      `machine load (1-min average) seen during runs: ${m.load1.min.toFixed(2)}–${m.load1.max.toFixed(2)} on ${m.cores} cores${m.load1.max > m.cores * 0.75 ? '  ← busy machine: numbers are noisy, multi-thread rows suffer most' : ''}`,
    );
  if (m.distNote) L.push(`aelab: ${m.distNote}`);
  if (m.torchNote) L.push(`PyTorch: ${m.torchNote}`);
  for (const [model, t] of Object.entries(s.train)) {
    L.push('');
    L.push(`${t.description}`);
    const rows = t.rows.map((r) =>
      r.status === 'ok'
        ? [
            r.label,
            r.threads,
            fmtRate(r.samplesPerSec),
            `${fmtRate(r.min)}–${fmtRate(r.max)}`,
            fmtRatio(r.vsTorch),
            fmtRatio(r.vsTfjsWasm),
            fmtMb(r.peakRssMb),
            fmtLoss(r.lossFirst, r.lossLast),
          ]
        : { label: r.label, text: `${r.status}: ${clip(r.reason, 160)}` },
    );
    L.push(
      table(['row', 'thr', 'samples/s', 'range', 'vs PyTorch', 'vs TF.js wasm', 'peak RSS', 'loss first→last'], rows, [
        'l',
        'r',
        'r',
        'r',
        'r',
        'r',
        'r',
        'l',
      ]),
    );
    const notes = t.rows.flatMap((r) =>
      r.status === 'ok'
        ? [
            ...(r.blas ? [`${r.id}: BLAS ${r.blas}${r.ompWaitPolicy ? `, OMP_WAIT_POLICY=${r.ompWaitPolicy}` : ''}`] : []),
            ...r.notes.map((n) => `${r.id}: ${n}`),
          ]
        : [],
    );
    if (t.pairs)
      notes.unshift(
        `aelab wasm / ${t.torchBaseline} repeat by repeat (run back to back): ${t.pairs.ratios.map((x) => x.toFixed(2)).join(', ')}; median ${t.pairs.median.toFixed(3)}×`,
      );
    if (t.torchBaseline)
      notes.unshift(`"vs PyTorch" = against the fastest PyTorch row (${t.torchBaseline}); "vs TF.js wasm" = against tfjs-wasm`);
    for (const n of notes) L.push(`  · ${n}`);
  }
  if (s.gemm.length) {
    L.push('');
    L.push('GEMM C = A·B (M×K·K×N), GFLOP/s = 2MNK/time: median of ≥ 3 timed chunks per run, median over runs (best in parentheses)');
    const sizes = s.gemm.find((g) => g.status === 'ok')?.sizes.map((z) => `${z.M}×${z.K}×${z.N}`) ?? ['512×512×512', '128×784×512'];
    const rows = s.gemm.map((g) =>
      g.status === 'ok'
        ? [g.label, g.threads, ...g.sizes.map((z) => `${z.gflops.toFixed(1)} (${z.best.toFixed(1)})`), fmtMb(g.peakRssMb)]
        : { label: g.label, text: `${g.status}: ${clip(g.reason, 160)}` },
    );
    L.push(table(['row', 'thr', ...sizes, 'peak RSS'], rows, ['l', 'r', 'r', 'r', 'r']));
    for (const g of s.gemm) for (const n of g.notes ?? []) L.push(`  · ${g.id}: ${n}`);
    for (const g of s.gemm) if (g.blas) L.push(`  · ${g.id}: BLAS ${g.blas}`);
  }
  if (s.startup.length) {
    L.push('');
    L.push('Start-up: process start → end of the first training step (minus the bench reading its data), median');
    const rows = s.startup.map((x) => [
      x.label,
      x.model,
      `${Math.round(x.toFirstStepMs)} ms`,
      `node ${Math.round(x.bootMs)} + import ${Math.round(x.importMs)} + backend ${Math.round(x.backendMs)} + model ${Math.round(x.buildMs)} + step ${Math.round(x.firstStepMs)}`,
    ]);
    L.push(table(['row', 'model', 'to 1st step', 'breakdown (ms)'], rows, ['l', 'l', 'r', 'l']));
  }
  L.push('');
  L.push('Targets (aelab wasm on all cores)');
  L.push(
    table(
      ['target', 'measured', 'verdict'],
      s.targets.map((t) => [
        t.target,
        t.value === null
          ? '–'
          : /GFLOP/.test(t.target)
            ? `${t.value.toFixed(1)} GFLOP/s`
            : /first/.test(t.target)
              ? `${Math.round(t.value)} ms`
              : fmtRatio(t.value),
        t.pass === null ? `n/a (${clip(t.why ?? '', 90)})` : `${mark(t.pass)}${t.caveat ? ` (${t.caveat})` : ''}`,
      ]),
      ['l', 'r', 'l'],
    ),
  );
  L.push('');
  return `${L.join('\n')}\n`;
}

main().catch((e) => {
  log(`bench: ${e.stack ?? e}`);
  process.exit(1);
});
