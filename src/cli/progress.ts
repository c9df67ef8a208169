/** Progress output for `aelab train`: a live bar on a terminal, one line per epoch otherwise. */
import type cliProgress from 'cli-progress';
import { epochBar, fmtRate, fmtValue as fmt } from '../train/progress.js';
import type { EpochRecord, ProgressReporter } from '../train/trainer.js';

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
  const stopBar = (): void => {
    bar?.stop();
    bar = null;
  };
  return {
    epochStart(epoch, total, steps) {
      epochs = total;
      if (live) bar = epochBar(out, epoch, total, steps);
    },
    step(_step, parts, sps) {
      bar?.increment(1, { loss: fmt(parts.loss ?? Object.values(parts)[0]), sps: fmtRate(sps) });
    },
    epochEnd(rec: EpochRecord, best: boolean) {
      stopBar();
      if (opts.quiet) return;
      const val = Object.keys(rec.val).length ? ` | val loss ${fmt(rec.val.loss)} ${partsText(rec.val)}` : '';
      out.write(
        `epoch ${String(rec.epoch + 1).padStart(String(epochs).length)}/${epochs}  train loss ${fmt(rec.train.loss)} ${partsText(rec.train)}${val}` +
          `  (${rec.seconds.toFixed(1)} s, ${fmtRate(rec.samplesPerSec)} samples/s)${best ? ' *' : ''}\n`,
      );
    },
    message(text) {
      stopBar();
      if (!opts.quiet) out.write(text + '\n');
    },
  };
}
