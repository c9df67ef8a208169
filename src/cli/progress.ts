/** Progress output for `aelab train`: a live bar on a terminal, one line per epoch otherwise. */
import cliProgress from 'cli-progress';
import type { EpochRecord, ProgressReporter } from '../train/trainer.js';

const fmt = (v: number | undefined, digits = 4): string => (v === undefined ? '-' : Math.abs(v) >= 100 ? v.toFixed(2) : v.toPrecision(digits));

function partsText(p: Record<string, number>): string {
  return Object.entries(p)
    .filter(([k]) => k !== 'loss')
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join('  ');
}

export function consoleReporter(opts: { quiet: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const out = opts.stream ?? process.stderr;
  const live = !opts.quiet && out.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let epochs = 0;
  let lastUpdate = 0;
  return {
    epochStart(epoch, total, steps) {
      epochs = total;
      if (!live) return;
      bar = new cliProgress.SingleBar(
        {
          stream: out,
          format: `epoch ${epoch + 1}/${total} [{bar}] {value}/{total} steps | loss {loss} | {sps} samples/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(steps, 0, { loss: '-', sps: '-' });
    },
    step(_step, parts, sps) {
      if (!bar) return;
      const now = Date.now();
      bar.increment(1, { loss: fmt(parts.loss ?? Object.values(parts)[0]), sps: Math.round(sps).toLocaleString('en-US') });
      if (now - lastUpdate > 100) lastUpdate = now;
    },
    epochEnd(rec: EpochRecord, best: boolean) {
      bar?.stop();
      bar = null;
      if (opts.quiet) return;
      const val = Object.keys(rec.val).length ? ` | val loss ${fmt(rec.val.loss)} ${partsText(rec.val)}` : '';
      out.write(
        `epoch ${String(rec.epoch + 1).padStart(String(epochs).length)}/${epochs}  train loss ${fmt(rec.train.loss)} ${partsText(rec.train)}${val}` +
          `  (${rec.seconds.toFixed(1)} s, ${Math.round(rec.samplesPerSec).toLocaleString('en-US')} samples/s)${best ? ' *' : ''}\n`,
      );
    },
    message(text) {
      bar?.stop();
      bar = null;
      if (!opts.quiet) out.write(text + '\n');
    },
  };
}
