/**
 * The fused optimizer steps of the wasm backend (assembly/optim.ts), in place over one
 * parameter and its state buffers.
 */
import type { AdadeltaParams, AdagradParams, AdamParams, F32, RmspropParams, SgdParams } from '../backend.js';
import { K } from './abi.js';
import { writeAdadeltaStepArgs, writeAdagradStepArgs, writeAdamStepArgs, writeRmspropStepArgs, writeSgdStepArgs } from './abi.generated.js';
import { checkLen, PAR_ELEMS, type WasmContext } from './context.js';

export function adamStep(c: WasmContext, p: F32, g: F32, m: F32, v: F32, vmax: F32 | null, hp: AdamParams): void {
  const n = p.length;
  if (n === 0) return;
  checkLen('adamStep', 'g', g, n);
  checkLen('adamStep', 'm', m, n);
  checkLen('adamStep', 'v', v, n);
  const ams = hp.amsgrad && vmax !== null;
  if (ams) checkLen('adamStep', 'vmax', vmax, n);
  const pp = c.outp(p, true),
    pg = c.inp(g),
    pm = c.outp(m, true),
    pv = c.outp(v, true),
    px = ams ? c.outp(vmax, true) : 0;
  const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = hp;
  writeAdamStepArgs(c.args, { p: pp, g: pg, m: pm, v: pv, vmax: px, n, lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad: ams, step });
  c.run(K.adamStep, c.par(n, PAR_ELEMS / 2));
}

export function sgdStep(c: WasmContext, p: F32, g: F32, buf: F32 | null, hp: SgdParams): void {
  const n = p.length;
  if (n === 0) return;
  checkLen('sgdStep', 'g', g, n);
  const useBuf = hp.momentum !== 0 && buf !== null;
  if (useBuf) checkLen('sgdStep', 'buf', buf, n);
  const pp = c.outp(p, true),
    pg = c.inp(g),
    pb = useBuf ? c.outp(buf, !hp.first) : 0;
  const { lr, momentum, dampening, weightDecay, nesterov, first } = hp;
  writeSgdStepArgs(c.args, { p: pp, g: pg, buf: pb, n, lr, momentum, dampening, weightDecay, nesterov, first });
  c.run(K.sgdStep, c.par(n, PAR_ELEMS));
}

export function rmspropStep(c: WasmContext, p: F32, g: F32, squareAvg: F32, gradAvg: F32 | null, buf: F32 | null, hp: RmspropParams): void {
  const n = p.length;
  if (n === 0) return;
  checkLen('rmspropStep', 'g', g, n);
  checkLen('rmspropStep', 'squareAvg', squareAvg, n);
  if (gradAvg) checkLen('rmspropStep', 'gradAvg', gradAvg, n);
  if (buf) checkLen('rmspropStep', 'buf', buf, n);
  const pp = c.outp(p, true),
    pg = c.inp(g),
    ps = c.outp(squareAvg, true);
  const pa = gradAvg ? c.outp(gradAvg, true) : 0,
    pb = buf ? c.outp(buf, true) : 0;
  const { lr, alpha, eps, weightDecay, momentum } = hp;
  writeRmspropStepArgs(c.args, { p: pp, g: pg, squareAvg: ps, gradAvg: pa, buf: pb, n, lr, alpha, eps, weightDecay, momentum });
  c.run(K.rmspropStep, c.par(n, PAR_ELEMS / 2));
}

export function adagradStep(c: WasmContext, p: F32, g: F32, sum: F32, hp: AdagradParams): void {
  const n = p.length;
  if (n === 0) return;
  checkLen('adagradStep', 'g', g, n);
  checkLen('adagradStep', 'sum', sum, n);
  const pp = c.outp(p, true),
    pg = c.inp(g),
    ps = c.outp(sum, true);
  writeAdagradStepArgs(c.args, { p: pp, g: pg, sum: ps, n, clr: hp.clr, eps: hp.eps, weightDecay: hp.weightDecay });
  c.run(K.adagradStep, c.par(n, PAR_ELEMS / 2));
}

export function adadeltaStep(c: WasmContext, p: F32, g: F32, squareAvg: F32, accDelta: F32, hp: AdadeltaParams): void {
  const n = p.length;
  if (n === 0) return;
  checkLen('adadeltaStep', 'g', g, n);
  checkLen('adadeltaStep', 'squareAvg', squareAvg, n);
  checkLen('adadeltaStep', 'accDelta', accDelta, n);
  const pp = c.outp(p, true),
    pg = c.inp(g),
    ps = c.outp(squareAvg, true),
    pd = c.outp(accDelta, true);
  const { lr, rho, eps, weightDecay } = hp;
  writeAdadeltaStepArgs(c.args, { p: pp, g: pg, squareAvg: ps, accDelta: pd, n, lr, rho, eps, weightDecay });
  c.run(K.adadeltaStep, c.par(n, PAR_ELEMS / 2));
}
