/**
 * ProgressBar: the fit loop's progress display, as a callback (Keras' verbose=1). On a terminal a
 * live bar per epoch (steps, loss, samples/s, ETA); elsewhere (a log file, CI) one line per epoch.
 * Messages (early stopping, an interruption) are printed too.
 */
import cliProgress from 'cli-progress';
import type { Callback, StepInfo } from './callbacks.js';
import type { Trainer } from './trainer.js';

/** Where ProgressBar writes: a stream with write(); a live bar when it is a TTY. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  /** Default: process.stderr (so stdout stays free for the program's output). */
  stream?: ProgressStream;
}

/** A logged number as progress lines show it: two decimals from 100 up, else 4 significant digits. */
export const fmtValue = (v: number | undefined): string => (v === undefined ? '-' : Math.abs(v) >= 100 ? v.toFixed(2) : v.toPrecision(4));
const fmt = fmtValue;

/** Samples per second with thousands separators. */
export const fmtRate = (sps: number): string => Math.round(sps).toLocaleString('en-US');

/**
 * The live bar of one epoch on a terminal (steps, loss, samples/s, ETA), started at 0 of `steps`;
 * update it with `increment(1, { loss, sps })`. Shared by ProgressBar and the CLI's reporter.
 */
export function epochBar(out: ProgressStream, epoch: number, epochs: number, steps: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      stream: out as NodeJS.WritableStream,
      format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} steps | loss {loss} | {sps} samples/s | ETA {eta_formatted}`,
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { loss: '-', sps: '-' });
  return bar;
}

export class ProgressBar implements Callback {
  private readonly out: ProgressStream;
  private bar: cliProgress.SingleBar | null = null;

  constructor(opts: ProgressBarOptions = {}) {
    this.out = opts.stream ?? process.stderr;
  }

  onEpochBegin(epoch: number, trainer: Trainer): void {
    if (this.out.isTTY !== true) return;
    this.bar = epochBar(this.out, epoch, trainer.config.epochs, trainer.loader.length);
  }

  onStep(info: StepInfo): void {
    this.bar?.increment(1, { loss: fmt(info.logs.loss), sps: fmtRate(info.samplesPerSec) });
  }

  onEpochEnd(epoch: number, logs: Record<string, number>, trainer: Trainer): void {
    this.stopBar();
    const rec = trainer.history[trainer.history.length - 1];
    const values = Object.entries(logs)
      .filter(([k]) => k !== 'lr')
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join('  ');
    const total = trainer.config.epochs;
    const timing = rec ? `  (${rec.seconds.toFixed(1)} s, ${fmtRate(rec.samplesPerSec)} samples/s)` : '';
    this.out.write(`epoch ${String(epoch + 1).padStart(String(total).length)}/${total}  ${values}${timing}\n`);
  }

  onMessage(text: string): void {
    this.stopBar();
    this.out.write(text + '\n');
  }

  onTrainEnd(): void {
    this.stopBar();
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
