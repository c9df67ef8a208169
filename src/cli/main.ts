/**
 * The `aelab` command line. Every command has --help; commands that print results take --json.
 * Errors are one clear sentence on stderr (exit 1; 2 for bad arguments; 3 for a diverged run);
 * AELAB_DEBUG=1 shows the stack.
 */
import { Command, CommanderError, Option } from 'commander';
import '../ops/index.js';
import { OPTIMIZER_NAMES } from '../optim/factory.js';
import { initBackend, setBackend } from '../kernels/registry.js';
import { cmdAnomaly, cmdEncode, cmdEval, cmdReconstruct, cmdSample, cmdSummary, runPca } from './commands.js';
import { formatError, UserError } from './errors.js';
import { classesOpt, intOpt, listOpt, numOpt } from './options.js';
import { VERSION } from './run-folder.js';
import { checkKind, MODEL_KINDS, runTrain, type TrainFlags } from './train.js';

function modelOptions(c: Command, defaultModel: string): Command {
  return c
    .addOption(new Option('--model <kind>', 'model family').choices([...MODEL_KINDS]).default(defaultModel))
    .option('--latent <n>', 'latent (code) dimensions; PCA components for --model pca', intOpt('--latent'))
    .option('--hidden <widths>', "hidden layer widths, e.g. '512,256' ('none' for no hidden layer)", listOpt('--hidden'))
    .option('--channels <list>', "conv channels of the stride-2 layers (conv-ae, cnn), e.g. '32,64'", listOpt('--channels'))
    .addOption(new Option('--activation <name>', 'hidden activation').choices(['relu', 'sigmoid', 'tanh', 'leaky_relu', 'elu', 'prelu', 'softplus']))
    .addOption(new Option('--loss <name>', 'reconstruction likelihood: bce (Bernoulli) or mse (Gaussian)').choices(['bce', 'mse']))
    .addOption(new Option('--decoder <name>', 'VAE decoder likelihood').choices(['bernoulli', 'gaussian']))
    .option('--beta <x>', 'VAE: weight of the KL term; sparse AE: weight of the sparsity penalty', numOpt('--beta', { min: 0 }))
    .option('--rho <x>', 'sparse AE: target mean activation ρ', numOpt('--rho', { min: 0, max: 1, minOpen: true }))
    .addOption(new Option('--sparsity <kind>', 'sparse AE penalty').choices(['kl', 'l1']))
    .addOption(new Option('--noise <kind>', 'denoising AE corruption').choices(['gaussian', 'salt-pepper', 'mask']))
    .option('--noise-level <x>', 'σ for gaussian noise, fraction for salt-pepper and mask', numOpt('--noise-level', { min: 0 }))
    .addOption(new Option('--prior <kind>', 'adversarial AE prior').choices(['normal', 'mixture', 'swissroll']))
    .option('--conditional-prior', 'adversarial AE: label-conditioned prior')
    .option('--dropout <p>', 'classifier dropout', numOpt('--dropout', { min: 0, max: 0.99 }));
}

function trainOptions(c: Command): Command {
  return c
    .option('--data <spec>', "'mnist' (embedded 10,000 digits), 'fashion-mnist', or a path (IDX folder, PNG folder, CSV)", 'mnist')
    .option('--epochs <n>', 'training epochs', intOpt('--epochs'))
    .option('--batch <n>', 'mini-batch size', intOpt('--batch'), 128)
    .option('--lr <x>', 'learning rate', numOpt('--lr', { min: 0, minOpen: true }))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices([...OPTIMIZER_NAMES]).default('adam'))
    .option('--weight-decay <x>', 'L2 weight decay', numOpt('--weight-decay', { min: 0 }), 0)
    .addOption(new Option('--schedule <name>', 'learning-rate schedule').choices(['none', 'step', 'exponential', 'cosine', 'plateau']).default('none'))
    .option('--clip-norm <x>', 'clip the gradient norm to this value', numOpt('--clip-norm', { min: 0, minOpen: true }))
    .option('--early-stopping <patience>', 'stop after this many epochs without validation improvement', intOpt('--early-stopping'))
    .option('--seed <n>', 'random seed (same seed, same run)', intOpt('--seed', 0), 0)
    .option('--val-fraction <x>', 'fraction of the training split held out for validation', numOpt('--val-fraction', { min: 0, max: 0.9 }), 0.1)
    .option('--limit <n>', 'use only the first n training images', intOpt('--limit'))
    .option('--classes <list>', "train on these classes only, e.g. '0,1' or '0-4'", classesOpt('--classes'))
    .option('--download', 'allow downloading Fashion-MNIST into the cache when it is not installed')
    .option('--out <dir>', 'run folder (default runs/<model>-<data>-<time>)')
    .option('--resume <dir>', 'continue a run folder from its last checkpoint (add --epochs to extend it)')
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
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(`aelab: ${str.replace(/^error: /, '')}`) });

  const train = program
    .command('train')
    .description('train a model and write a run folder (config, metrics, checkpoints, figures); no options: a 2-D VAE on the embedded MNIST');
  backendOptions(trainOptions(modelOptions(train, 'vae'))).action(async (o: TrainFlags & { backend?: 'js' | 'wasm'; threads?: number }) => {
    await prepareBackend(o);
    if (o.resume && o.model !== 'vae' && train.getOptionValueSource('model') === 'cli')
      throw new UserError('--resume continues the run as it was configured; drop --model and the other model options', 2);
    if (checkKind(o.model) === 'pca' && !o.resume) return runPca(o);
    const r = await runTrain(o);
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
    commonRunOptions(program.command('eval').description('evaluate a run on a dataset split (loss parts; --iw K adds the VAE importance-weighted log-likelihood)'))
      .option('--data <spec>', 'dataset (default: the run’s)')
      .addOption(new Option('--split <split>').choices(['train', 'test']).default('test'))
      .option('--iw <k>', 'VAE: importance samples for the log-likelihood estimate', intOpt('--iw'))
      .option('--seed <n>', 'random seed', intOpt('--seed', 0), 0),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdEval(o);
  });

  backendOptions(
    commonRunOptions(program.command('sample').description('decode draws from the prior of a VAE, CVAE or AAE into an image grid'))
      .option('--n <n>', 'how many samples', intOpt('--n'), 64)
      .option('--label <c>', 'CVAE: generate this class', intOpt('--label', 0))
      .option('--seed <n>', 'random seed', intOpt('--seed', 0), 0)
      .option('--out <file.png>', 'output image (default <run>/figures/samples.png)'),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdSample(o);
  });

  backendOptions(
    commonRunOptions(program.command('reconstruct').description('draw inputs and their reconstructions'))
      .option('--n <n>', 'how many images', intOpt('--n'), 16)
      .option('--data <spec>', 'dataset (default: the run’s)')
      .addOption(new Option('--split <split>').choices(['train', 'test']).default('test'))
      .option('--out <file.png>', 'output image (default <run>/figures/reconstructions.png)'),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdReconstruct(o);
  });

  backendOptions(
    commonRunOptions(program.command('encode').description('write the latent codes of a dataset split to CSV (label, z1..zk) or .npy'))
      .requiredOption('--out <file>', 'output .csv or .npy')
      .option('--data <spec>', 'dataset (default: the run’s)')
      .addOption(new Option('--split <split>').choices(['train', 'test']).default('test'))
      .option('--limit <n>', 'only the first n images', intOpt('--limit')),
  ).action(async (o) => {
    await prepareBackend(o);
    await cmdEncode(o);
  });

  const anomaly = program
    .command('anomaly')
    .description('train an autoencoder on some classes and score the test set by reconstruction error (ROC AUC, histogram)');
  backendOptions(trainOptions(modelOptions(anomaly, 'ae')))
    .requiredOption('--normal <classes>', "the 'normal' classes to train on, e.g. '1' or '0-4'", classesOpt('--normal'))
    .action(async (o) => {
      await prepareBackend(o);
      await cmdAnomaly(o);
    });

  const summaryCmd = program.command('summary').description('print a model’s layers, output shapes and parameter counts');
  backendOptions(modelOptions(summaryCmd, 'vae'))
    .option('--data <spec>', 'dataset that sets the input shape', 'mnist')
    .option('--run <dir>', 'summarise the model of a run folder instead')
    .option('--json', 'print as JSON')
    .action(async (o) => {
      await prepareBackend({ ...o, quiet: true });
      await cmdSummary(o);
    });

  return program;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`aelab: error: ${formatError(e)}\n`);
    return e instanceof UserError ? e.exitCode : 1;
  }
}
