/**
 * The `aelab` command line. Every command has --help; commands that print results take --json.
 * Errors are one clear sentence on stderr (exit 1; 2 for bad arguments; 3 for a diverged run);
 * AELAB_DEBUG=1 shows the stack.
 */
import { Command, CommanderError, Option } from 'commander';
import '../ops/index.js';
import { ACTIVATIONS, defaultConfig } from '../models/index.js';
import type { ModelKind } from '../models/types.js';
import { OPTIMIZER_NAMES } from '../optim/factory.js';
import { initBackend, setBackend } from '../kernels/registry.js';
import { ANOMALY_KINDS, cmdAnomaly, cmdEncode, cmdEval, cmdReconstruct, cmdSample, cmdSummary } from './commands.js';
import { collect, portOpt, runLab, type LabFlags } from './lab.js';
import { runPca } from './pca.js';
import { formatError, UserError } from './errors.js';
import { classesOpt, intOpt, listOpt, numOpt } from './options.js';
import { VERSION } from './run-folder.js';
import { checkKind, MODEL_KINDS, runTrain, type TrainFlags } from './train.js';
import { defaultEpochs, lrHelp, OPTION_RULES, TRAIN_DEFAULTS, type OptionKey } from './train-options.js';

/** "[ae, vae]": the models an option applies to, from the option table. */
function forModels(key: OptionKey): string {
  const m = OPTION_RULES[key].models;
  return m.length === MODEL_KINDS.length - 1 && !m.includes('pca') ? '[all models but pca]' : `[${m.join(', ')}]`;
}

/** A model option's default, from the models' own defaults (so --help cannot drift from them). */
function dflt(kind: ModelKind, key: string): string {
  return String((defaultConfig(kind, [1, 28, 28]) as unknown as Record<string, unknown>)[key]);
}

function modelOptions(c: Command, defaultModel: string, kinds: readonly string[] = MODEL_KINDS): Command {
  return c
    .addOption(new Option('--model <kind>', 'model family').choices([...kinds]).default(defaultModel))
    .option('--latent <n>', `latent (code) dimensions; PCA components for --model pca ${forModels('latent')}`, intOpt('--latent'))
    .option(
      '--hidden <widths>',
      `hidden layer widths, e.g. '512,256' ('none' for no hidden layer); for sparse-ae, layers before the sparse code (default none: the code is the one hidden layer) ${forModels('hidden')}`,
      listOpt('--hidden'),
    )
    .option('--channels <list>', `conv channels of the stride-2 layers, e.g. '32,64' ${forModels('channels')}`, listOpt('--channels'))
    .addOption(new Option('--activation <name>', `hidden activation ${forModels('activation')}`).choices(ACTIVATIONS))
    .addOption(new Option('--loss <name>', `reconstruction likelihood: bce (Bernoulli) or mse (Gaussian) ${forModels('loss')}`).choices(['bce', 'mse']))
    .addOption(
      new Option(
        '--decoder <name>',
        `VAE decoder likelihood; a Gaussian decoder's pixel densities can exceed 1, so its −ELBO can be negative nats ${forModels('decoder')}`,
      ).choices(['bernoulli', 'gaussian']),
    )
    .option('--beta <x>', `VAE: weight of the KL term; sparse AE: weight of the sparsity penalty (default: vae, cvae ${dflt('vae', 'beta')}; sparse-ae ${dflt('sparse-ae', 'beta')}) ${forModels('beta')}`, numOpt('--beta', { min: 0 }))
    .option('--rho <x>', `sparse AE: target mean activation ρ of the code units (default ${dflt('sparse-ae', 'rho')}; KL penalty only) ${forModels('rho')}`, numOpt('--rho', { min: 0, max: 1, minOpen: true, maxOpen: true }))
    .addOption(new Option('--sparsity <kind>', `sparse AE penalty (default ${dflt('sparse-ae', 'sparsity')}) ${forModels('sparsity')}`).choices(['kl', 'l1']))
    .addOption(new Option('--noise <kind>', `denoising AE corruption (default ${dflt('dae', 'noise')}) ${forModels('noise')}`).choices(['gaussian', 'salt-pepper', 'mask']))
    .option('--noise-level <x>', `σ for gaussian noise (default ${dflt('dae', 'noiseLevel')}), fraction of pixels (≤ 1) for salt-pepper and mask ${forModels('noiseLevel')}`, numOpt('--noise-level', { min: 0 }))
    .addOption(new Option('--prior <kind>', `adversarial AE prior (default ${dflt('aae', 'prior')}) ${forModels('prior')}`).choices(['normal', 'mixture', 'swissroll']))
    .option('--conditional-prior', `adversarial AE: label-conditioned prior ${forModels('conditionalPrior')}`)
    .option('--dropout <p>', `classifier dropout ${forModels('dropout')}`, numOpt('--dropout', { min: 0, max: 0.99 }));
}

function trainOptions(c: Command, opts: { anomaly?: boolean } = {}): Command {
  // no commander defaults here: an option left out stays undefined, so the option table
  // (train-options.ts) can tell it from one given; the defaults are applied after the checks
  c.option('--data <spec>', "'mnist' (embedded 10,000 digits), 'fashion-mnist', or a path (IDX folder, PNG folder, CSV)", 'mnist')
    .option('--epochs <n>', `training epochs (default: ${defaultEpochs('ae')}; sparse-ae ${defaultEpochs('sparse-ae')})`, intOpt('--epochs'))
    .option('--batch <n>', `mini-batch size (default: ${TRAIN_DEFAULTS.batch})`, intOpt('--batch'))
    .option('--lr <x>', lrHelp(), numOpt('--lr', { min: 0, minOpen: true }))
    .addOption(new Option('--optimizer <name>', `optimizer (default: ${TRAIN_DEFAULTS.optimizer})`).choices([...OPTIMIZER_NAMES]))
    .option('--weight-decay <x>', 'L2 weight decay (default: 0; adamw 0.01, decoupled)', numOpt('--weight-decay', { min: 0 }))
    .addOption(new Option('--schedule <name>', `learning-rate schedule (default: ${TRAIN_DEFAULTS.schedule})`).choices(['none', 'step', 'exponential', 'cosine', 'plateau']))
    .option('--clip-norm <x>', 'clip the gradient norm to this value', numOpt('--clip-norm', { min: 0, minOpen: true }))
    .option('--early-stopping <patience>', 'stop after this many epochs without validation improvement', intOpt('--early-stopping'))
    .option('--seed <n>', `random seed (same seed, same run; default: ${TRAIN_DEFAULTS.seed})`, intOpt('--seed', 0))
    .option('--val-fraction <x>', `fraction of the training split held out for validation (default: ${TRAIN_DEFAULTS.valFraction})`, numOpt('--val-fraction', { min: 0, max: 0.9 }))
    .option('--limit <n>', 'use only the first n training images', intOpt('--limit'));
  // anomaly picks its training classes with --normal and always starts a fresh run
  if (!opts.anomaly) c.option('--classes <list>', "train on these classes only, e.g. '0,1' or '0-4'", classesOpt('--classes'));
  c.option('--download', 'allow downloading Fashion-MNIST into the cache when it is not installed').option('--out <dir>', 'run folder (default runs/<model>-<data>-<time>)');
  if (!opts.anomaly) c.option('--resume <dir>', 'continue a run folder from its last checkpoint (add --epochs to extend it)');
  return c
    .option('--no-figures', 'do not draw figures')
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress output');
}

function commonRunOptions(c: Command): Command {
  return c
    .requiredOption('--run <dir>', 'a run folder written by aelab train')
    .addOption(new Option('--weights <which>', 'which checkpoint').choices(['best', 'last']).default('best'))
    .option('--json', 'print the result as JSON');
}

function splitOption(c: Command): Command {
  return c.addOption(new Option('--split <split>', "dataset split ('test' falls back to all images when the data has no test split)").choices(['train', 'test']).default('test'));
}

/** Options `--resume` accepts: everything else is fixed by the run's config.json. */
const RESUME_OPTIONS = new Set(['resume', 'epochs', 'quiet', 'json', 'figures', 'backend', 'threads']);

/**
 * Commander's messages, made one sentence: "option '--epochs <n>' argument '0' is invalid.
 * --epochs must be …" loses its preamble, choice errors name the choices, and the pointer to
 * --help goes on the same line.
 */
export function tidyUsageMessage(msg: string, command: string): string {
  let m = msg.trim().replace(/^error: /, '');
  let r = /^option '(--[\w-]+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*?)\.?$/s.exec(m);
  if (r) m = `${r[1]} must be one of ${r[3]}; got '${r[2]}'`;
  else if ((r = /^option '(--[\w-]+)[^']*' argument '.*' is invalid\. (.*)$/s.exec(m))) m = r[2]!;
  else if ((r = /^too many arguments(?: for '([\w-]+)')?\. Expected (\d+) arguments? but got (\d+)\.?$/.exec(m)))
    m = `aelab${(r[1] ?? command) ? ` ${r[1] ?? command}` : ''} takes no positional arguments (got ${r[3]}); options start with --`;
  m = m.replace(/\.$/, '');
  return `${m} (see 'aelab${command ? ` ${command}` : ''} --help')`.replace(/\s*\n\s*/g, ' ');
}

function configureMessages(c: Command, name: string): void {
  c.configureOutput({ outputError: (str, write) => write(`aelab: ${tidyUsageMessage(str, name)}\n`) });
}

/** Exit code set by an action that finished without an error (130: interrupted). */
let actionExitCode = 0;

function backendOptions(c: Command): Command {
  return c
    .addOption(new Option('--backend <name>', 'kernel backend (default: wasm where WebAssembly SIMD works, else js; env AELAB_BACKEND)').choices(['js', 'wasm']))
    .option('--threads <n>', 'worker threads for the wasm backend (default: cores; env AELAB_THREADS)', intOpt('--threads'));
}

async function prepareBackend(o: { backend?: 'js' | 'wasm'; threads?: number; quiet?: boolean; json?: boolean }): Promise<void> {
  const opts = o.threads !== undefined ? { threads: o.threads } : {};
  if (o.backend) await setBackend(o.backend, opts);
  else {
    const { note } = await initBackend(opts);
    if (note && !o.quiet) process.stderr.write(`aelab: ${note}\n`);
  }
}

export function buildProgram(): Command {
  const program = new Command('aelab')
    .description('Train, evaluate and explore autoencoders (AE, conv AE, sparse, denoising, VAE, CVAE, AAE), classifiers and PCA.')
    .version(VERSION);
  configureMessages(program, '');

  const train = program
    .command('train')
    .description('train a model and write a run folder (config, metrics, checkpoints, figures); no options: a 2-D VAE on the embedded MNIST');
  backendOptions(trainOptions(modelOptions(train, 'vae'))).action(async (o: TrainFlags & { backend?: 'js' | 'wasm'; threads?: number }) => {
    if (o.resume) {
      const fixed = train.options.filter((opt) => !RESUME_OPTIONS.has(opt.attributeName()) && train.getOptionValueSource(opt.attributeName()) === 'cli');
      if (fixed.length)
        throw new UserError(
          `--resume continues the run as its config.json says, so ${fixed.map((x) => x.long).join(', ')} cannot be changed (with --resume give only --epochs, --quiet, --json, --no-figures, --backend or --threads)`,
          2,
        );
    }
    await prepareBackend(o);
    if (checkKind(o.model) === 'pca' && !o.resume) return runPca(o);
    const r = await runTrain(o);
    if (r.fit.reason === 'interrupted') actionExitCode = 130;
    const out = {
      runDir: r.runDir,
      stop: r.fit.reason,
      epochs: r.fit.epochsCompleted,
      bestEpoch: r.fit.bestEpoch + 1,
      bestValLoss: r.fit.bestValLoss,
      test: r.test,
      figures: r.figures,
    };
    if (o.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else {
      const lines = [`\nrun folder: ${r.runDir}`];
      if (r.test) lines.push(`test (${r.testSet?.n ?? 0} images, best epoch ${out.bestEpoch}): ` + Object.entries(r.test).map(([k, v]) => `${k} ${v.toPrecision(5)}`).join(', '));
      if (r.figures.length) lines.push(`figures: ${r.figures.map((p) => p.slice(r.runDir.length + 1)).join(', ')}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
  });

  backendOptions(
    splitOption(commonRunOptions(program.command('eval').description('evaluate a run on a dataset split (loss parts; --iw K adds the VAE importance-weighted log-likelihood)'))
      .option('--data <spec>', 'dataset (default: the run’s)')
      .option('--iw <k>', 'VAE: importance samples for the log-likelihood estimate', intOpt('--iw'))
      .option('--seed <n>', 'random seed', intOpt('--seed', 0), 0)),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdEval(o);
  });

  backendOptions(
    commonRunOptions(program.command('sample').description('decode draws from the prior of a VAE, CVAE or AAE into an image grid'))
      .option('--n <n>', 'how many samples', intOpt('--n'), 64)
      .option('--label <c>', 'CVAE or label-conditioned AAE: generate this class', intOpt('--label', 0))
      .option('--seed <n>', 'random seed', intOpt('--seed', 0), 0)
      .option('--out <file.png>', 'output image (default <run>/figures/sample-seed<seed>[-label<c>].png; the training figures are kept)'),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdSample(o);
  });

  backendOptions(
    splitOption(commonRunOptions(program.command('reconstruct').description('draw inputs (top row) and their reconstructions (bottom row)')))
      .option('--n <n>', 'how many images', intOpt('--n'), 16)
      .option('--data <spec>', 'dataset (default: the run’s)')
      .option('--out <file.png>', 'output image (default <run>/figures/reconstruct-<split>-<n>.png; the training figures are kept)'),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdReconstruct(o);
  });

  backendOptions(
    splitOption(commonRunOptions(program.command('encode').description('write the latent codes of a dataset split to CSV (label, z1..zk) or to .npy (codes; labels in <name>.labels.npy)')))
      .requiredOption('--out <file>', 'output .csv, or .npy (float32 codes; int32 labels go to <name>.labels.npy beside it)')
      .option('--data <spec>', 'dataset (default: the run’s)')
      .option('--limit <n>', 'only the first n images', intOpt('--limit')),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdEncode(o);
  });

  const anomaly = program
    .command('anomaly')
    .description('train an autoencoder on some classes and score the test set by reconstruction error (ROC AUC, histogram)');
  backendOptions(trainOptions(modelOptions(anomaly, 'ae', ANOMALY_KINDS), { anomaly: true }))
    .requiredOption('--normal <classes>', "the 'normal' classes to train on, e.g. '1' or '0-4'", classesOpt('--normal'))
    .action(async (o) => {
      await prepareBackend(o);
      await cmdAnomaly(o);
    });

  const summaryCmd = program.command('summary').description('print a model’s layers, output shapes and parameter counts');
  backendOptions(modelOptions(summaryCmd, 'vae', MODEL_KINDS.filter((k) => k !== 'pca')))
    .option('--data <spec>', 'dataset that sets the input shape', 'mnist')
    .option('--run <dir>', 'summarise the model of a run folder instead')
    .option('--json', 'print as JSON')
    .action(async (o) => {
      await prepareBackend({ ...o, quiet: true });
      await cmdSummary(o);
    });

  program
    .command('lab')
    .description('serve the web lab (and the datasets it may load) on http://127.0.0.1:5173 until Ctrl-C')
    .option('--port <n>', 'port to try first; the next free one is used when it is taken (0: any free port)', portOpt, 5173)
    .option('--strict-port', 'fail when --port is taken instead of trying the next ports')
    .option('--host <address>', 'address to listen on; anything but loopback exposes the lab to the network (warns)', '127.0.0.1')
    .option('--open', 'open the lab in the desktop browser')
    .addOption(
      new Option('--data <spec>', "a dataset the lab may load: 'fashion-mnist', 'mnist' (IDX files in the cache) or a path (IDX folder, CSV, PNG folder); repeatable")
        .argParser(collect)
        .default([], 'Fashion-MNIST when installed'),
    )
    .option('--root <dir>', 'serve a lab built elsewhere (a folder with index.html) instead of the installed one')
    .action(async (o: LabFlags) => {
      actionExitCode = await runLab(o);
    });

  for (const c of program.commands) configureMessages(c, c.name());
  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  actionExitCode = 0;
  try {
    await program.parseAsync(argv);
    return actionExitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`aelab: error: ${formatError(e)}\n`);
    return e instanceof UserError ? e.exitCode : 1;
  }
}
