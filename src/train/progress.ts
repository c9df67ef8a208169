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

const fmt = (v: number | undefined): string => (v === undefined ? '-' : Math.abs(v) >= 100 ? v.toFixed(2) : v.toPrecision(4));

export class ProgressBar implements Callback {
  private readonly out: ProgressStream;
  private bar: cliProgress.SingleBar | null = null;

  constructor(opts: ProgressBarOptions = {}) {
    this.out = opts.stream ?? process.stderr;
  }

  onEpochBegin(epoch: number, trainer: Trainer): void {
    if (this.out.isTTY !== true) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.out as NodeJS.WritableStream,
        format: `epoch ${epoch + 1}/${trainer.config.epochs} [{bar}] {value}/{total} steps | loss {loss} | {sps} samples/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(trainer.loader.length, 0, { loss: '-', sps: '-' });
  }

  onStep(info: StepInfo): void {
    this.bar?.increment(1, { loss: fmt(info.logs.loss), sps: Math.round(info.samplesPerSec).toLocaleString('en-US') });
  }

  onEpochEnd(epoch: number, logs: Record<string, number>, trainer: Trainer): void {
    this.stopBar();
    const rec = trainer.history[trainer.history.length - 1];
    const values = Object.entries(logs)
      .filter(([k]) => k !== 'lr')
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join('  ');
    const total = trainer.config.epochs;
    const timing = rec ? `  (${rec.seconds.toFixed(1)} s, ${Math.round(rec.samplesPerSec).toLocaleString('en-US')} samples/s)` : '';
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
