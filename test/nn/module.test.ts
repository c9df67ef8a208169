/**
 * The Module contract: dotted names that match PyTorch's state_dict keys, train/eval
 * propagation, stateDict order, loadStateDict that names missing/unexpected/misshapen keys and
 * leaves the module unchanged on failure, zeroGrad, apply, printing.
 */
import { describe, expect, it } from 'vitest';
import { Generator, nn, ones, sum, tensor, type Tensor } from '../../src/index.js';
import { loadTorchFixture } from '../helpers/backends.js';
import { expectTensorClose, type FixtureTensor } from '../helpers/close.js';

class AE extends nn.Module {
  encoder: nn.Sequential;
  decoder: nn.Sequential;
  constructor() {
    super();
    const g = new Generator(1);
    this.encoder = this.registerModule(
      'encoder',
      new nn.Sequential(new nn.Linear(6, 4, { generator: g }), new nn.ReLU(), new nn.Linear(4, 2, { generator: g })),
    );
    this.decoder = this.registerModule(
      'decoder',
      new nn.Sequential(
        new nn.Linear(2, 4, { generator: g }),
        new nn.BatchNorm1d(4),
        new nn.Sigmoid(),
        new nn.Sequential(new nn.Dropout(0.2), new nn.Linear(4, 6, { generator: g })),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return this.decoder.forward(this.encoder.forward(x));
  }
}

/** A module with a parameter of its own, a buffer and a child. */
class Custom extends nn.Module {
  scale: Tensor;
  constructor() {
    super();
    this.scale = this.registerParameter('scale', ones([1]));
    this.registerBuffer('steps', tensor([0]));
    this.registerBuffer('cache', tensor([1, 2]), false);
    this.registerModule('inner', new nn.Linear(2, 2, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.scale);
  }
}

describe('names', () => {
  it('nested Sequentials give PyTorch state_dict keys', () => {
    const m = new AE();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      'encoder.0.weight',
      'encoder.0.bias',
      'encoder.2.weight',
      'encoder.2.bias',
      'decoder.0.weight',
      'decoder.0.bias',
      'decoder.1.weight',
      'decoder.1.bias',
      'decoder.3.1.weight',
      'decoder.3.1.bias',
    ]);
    expect(Object.keys(m.stateDict())).toEqual([
      'encoder.0.weight',
      'encoder.0.bias',
      'encoder.2.weight',
      'encoder.2.bias',
      'decoder.0.weight',
      'decoder.0.bias',
      'decoder.1.weight',
      'decoder.1.bias',
      'decoder.1.running_mean',
      'decoder.1.running_var',
      'decoder.1.num_batches_tracked',
      'decoder.3.1.weight',
      'decoder.3.1.bias',
    ]);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['decoder.1.running_mean', 'decoder.1.running_var', 'decoder.1.num_batches_tracked']);
    expect(m.namedModules().map(([n]) => n)).toEqual([
      '',
      'encoder',
      'encoder.0',
      'encoder.1',
      'encoder.2',
      'decoder',
      'decoder.0',
      'decoder.1',
      'decoder.2',
      'decoder.3',
      'decoder.3.0',
      'decoder.3.1',
    ]);
  });

  it('own parameters come before buffers, then children; non-persistent buffers are not saved', () => {
    const c = new Custom();
    expect(Object.keys(c.stateDict())).toEqual(['scale', 'steps', 'inner.weight']);
    expect(c.namedBuffers().map(([n]) => n)).toEqual(['steps', 'cache']);
    expect(Object.keys(c.stateDict('model'))).toEqual(['model.scale', 'model.steps', 'model.inner.weight']);
  });

  it('parameters require grad, are leaves and are not disposed by tidy scopes', () => {
    const m = new AE();
    for (const p of m.parameters()) {
      expect(p.requiresGrad).toBe(true);
      expect(p.isLeaf).toBe(true);
      expect(p.isParameter).toBe(true);
    }
    expect(m.numParameters()).toBe(6 * 4 + 4 + 4 * 2 + 2 + 2 * 4 + 4 + 4 + 4 + 4 * 6 + 6);
  });

  it('a module shared in two places is counted once', () => {
    const lin = new nn.Linear(3, 3);
    const s = new nn.Sequential(lin, new nn.ReLU(), lin);
    expect(s.parameters()).toHaveLength(2);
    expect(s.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias']);
    expect(s.numParameters()).toBe(12);
  });
});

describe('modes', () => {
  it('train()/eval() propagate to every submodule', () => {
    const m = new AE();
    m.eval();
    expect(m.namedModules().every(([, s]) => !s.training)).toBe(true);
    m.train();
    expect(m.namedModules().every(([, s]) => s.training)).toBe(true);
    m.train(false);
    expect(m.decoder.at(3).training).toBe(false);
  });

  it('eval makes dropout the identity and batch norm use running stats: outputs are deterministic', () => {
    const m = new AE().eval();
    const x = tensor(
      Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      [2, 6],
    );
    expect(m.forward(x).toList()).toEqual(m.forward(x).toList());
  });
});

describe('stateDict / loadStateDict', () => {
  it('the state dict holds the live tensors; loading copies values in', () => {
    const a = new AE();
    const b = new AE();
    b.parameters().forEach((p) => p.data.fill(0.5));
    a.loadStateDict(b.stateDict());
    expect(a.encoder.at(0).parameters()[0]!.data[0]).toBe(0.5);
    expect(a.stateDict()['encoder.0.weight']!.data).toBe(a.parameters()[0]!.data);
    // a copy, not shared
    b.parameters()[0]!.data[0] = 9;
    expect(a.parameters()[0]!.data[0]).toBe(0.5);
  });

  it('accepts plain {shape, data} records and a 0-d vs [1] num_batches_tracked', () => {
    const m = new nn.BatchNorm1d(2);
    m.loadStateDict({
      weight: { shape: [2], data: [1, 2] },
      bias: { shape: [2], data: [3, 4] },
      running_mean: { shape: [2], data: [5, 6] },
      running_var: { shape: [2], data: [7, 8] },
      num_batches_tracked: { shape: [1], data: [9] },
    });
    expect(m.numBatchesTracked!.item()).toBe(9);
    expect(m.runningVar!.toList()).toEqual([7, 8]);
  });

  it('missing, unexpected and misshapen keys are all named, and the module is left unchanged', () => {
    const m = new AE();
    const before = m.parameters().map((p) => p.toList());
    const sd: Record<string, Tensor> = { ...new AE().stateDict() };
    for (const t of Object.values(sd)) t.data.fill(7);
    delete sd['encoder.2.bias'];
    sd['encoder.9.weight'] = ones([1]);
    sd['decoder.0.weight'] = ones([3, 2]);
    let msg = '';
    try {
      m.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^AE\.loadStateDict: state dict does not fit this model/);
    expect(msg).toMatch(/'decoder\.0\.weight': expected shape \[4, 2\], got \[3, 2\]/);
    expect(msg).toMatch(/missing keys: 'encoder\.2\.bias'/);
    expect(msg).toMatch(/unexpected keys: 'encoder\.9\.weight'/);
    expect(m.parameters().map((p) => p.toList())).toEqual(before);
  });

  it('strict: false reports missing and unexpected keys and loads the rest; shapes are still checked', () => {
    const m = new AE();
    const src = new AE();
    src.parameters().forEach((p) => p.data.fill(0.25));
    const sd: Record<string, Tensor> = { ...src.stateDict(), extra: ones([1]) };
    delete sd['decoder.3.1.bias'];
    const r = m.loadStateDict(sd, { strict: false });
    expect(r.missingKeys).toEqual(['decoder.3.1.bias']);
    expect(r.unexpectedKeys).toEqual(['extra']);
    expect(m.stateDict()['decoder.3.1.weight']!.data[0]).toBe(0.25);
    expect(m.stateDict()['decoder.3.1.bias']!.data[0]).not.toBe(0.25);
    expect(() => m.loadStateDict({ 'encoder.0.weight': ones([1, 1]) }, { strict: false })).toThrow(
      /'encoder\.0\.weight': expected shape \[4, 6\], got \[1, 1\]/,
    );
  });
});

describe('utilities', () => {
  it('zeroGrad clears every gradient', () => {
    const m = new AE().eval();
    sum(m.forward(ones([2, 6]))).backward();
    expect(m.parameters().some((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('apply visits children first, then the module', () => {
    const seen: string[] = [];
    new nn.Sequential(new nn.Linear(1, 1), new nn.Sequential(new nn.ReLU())).apply((m) => seen.push(m.typeName));
    expect(seen).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
  });

  it("printing reads like PyTorch's repr", () => {
    const s = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
    expect(String(s)).toBe('Sequential(\n  (0): Linear(inFeatures=2, outFeatures=3, bias=true)\n  (1): ReLU()\n)');
  });
});

// ---- registration from fields (issue 15) --------------------------------------------------------

/** PyTorch: self.conv = Conv2d(4, 4, 3, padding=1); self.bn = BatchNorm2d(4) */
class FieldBlock extends nn.Module {
  conv = new nn.Conv2d(4, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

/**
 * The structure of test/fixtures/torch/modules.json's "Net": conv1, a parameter, a list of blocks,
 * a Sequential head and a Linear, as class fields (the PyTorch habit), plus a private field and
 * an alias that must not be registered.
 */
class FieldNet extends nn.Module {
  conv1 = new nn.Conv2d(1, 4, 3);
  scale = new nn.Parameter(ones([1]));
  blocks = [new FieldBlock(), new FieldBlock()];
  head = new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 2));
  fc = new nn.Linear(2, 2);
  /** private by convention: not registered */
  _scratch = new nn.Linear(3, 3);
  /** a shortcut to a registered module: an alias, not registered twice */
  last = this.fc;
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.fc.forward(this.head.forward(h.mul(this.scale)));
  }
}

/** The same network with the members assigned in the constructor after super(), and a ModuleList. */
class CtorNet extends nn.Module {
  conv1: nn.Conv2d;
  scale: Tensor;
  blocks: nn.ModuleList<FieldBlock>;
  head: nn.Sequential;
  fc: nn.Linear;
  constructor() {
    super();
    this.conv1 = new nn.Conv2d(1, 4, 3);
    this.scale = new nn.Parameter(ones([1]));
    this.blocks = new nn.ModuleList([new FieldBlock(), new FieldBlock()]);
    this.head = new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 2));
    this.fc = new nn.Linear(2, 2);
  }
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.fc.forward(this.head.forward(h.mul(this.scale)));
  }
}

/** torch.nn state_dict() keys of the equivalent PyTorch Net (own parameter first, then children in order). */
const TORCH_NET_KEYS = [
  'scale',
  'conv1.weight',
  'conv1.bias',
  ...[0, 1].flatMap((i) =>
    ['conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked'].map((k) => `blocks.${i}.${k}`),
  ),
  'head.1.weight',
  'head.1.bias',
  'fc.weight',
  'fc.bias',
];

describe('modules and parameters held in fields', () => {
  it('class fields are registered in definition order with their field names (PyTorch state_dict keys)', () => {
    const m = new FieldNet();
    expect(Object.keys(m.stateDict())).toEqual(TORCH_NET_KEYS);
    expect(m.namedParameters().map(([n]) => n)).toEqual(TORCH_NET_KEYS.filter((k) => !/running_|num_batches/.test(k)));
    expect(m.numParameters()).toBe(1 + (4 * 9 + 4) + 2 * (4 * 4 * 9 + 4 + 4 + 4) + (16 * 2 + 2) + (2 * 2 + 2));
    expect(m.namedModules().map(([n, s]) => `${n}:${s.typeName}`)).toEqual([
      ':FieldNet',
      'conv1:Conv2d',
      'blocks:ModuleList',
      'blocks.0:FieldBlock',
      'blocks.0.conv:Conv2d',
      'blocks.0.bn:BatchNorm2d',
      'blocks.1:FieldBlock',
      'blocks.1.conv:Conv2d',
      'blocks.1.bn:BatchNorm2d',
      'head:Sequential',
      'head.0:Flatten',
      'head.1:Linear',
      'fc:Linear',
    ]);
  });

  it("equal PyTorch's for the same Net built from attributes (fixture): keys, order, and the function they load into", () => {
    const fx = loadTorchFixture<{ keys: string[]; namedParameters: string[]; state: Record<string, FixtureTensor>; input: FixtureTensor; output: FixtureTensor }>('modules.json');
    expect(fx.keys).toEqual(TORCH_NET_KEYS);
    for (const m of [new FieldNet(), new CtorNet()]) {
      expect(Object.keys(m.stateDict())).toEqual(fx.keys);
      expect(m.namedParameters().map(([n]) => n)).toEqual(fx.namedParameters);
      m.loadStateDict(Object.fromEntries(Object.entries(fx.state).map(([k, t]) => [k, { shape: t.shape, data: t.data }])));
      m.eval();
      expectTensorClose(m.forward(tensor(Float32Array.from(fx.input.data), fx.input.shape)), fx.output, `${m.typeName} output`);
    }
  });

  it('members assigned in the constructor after super() and an nn.ModuleList give the same keys', () => {
    const a = new CtorNet();
    expect(Object.keys(a.stateDict())).toEqual(TORCH_NET_KEYS);
    // and the two styles load each other's weights and compute the same function
    const b = new FieldNet();
    b.loadStateDict(a.stateDict());
    const x = tensor(Float32Array.from({ length: 2 * 16 }, (_, i) => Math.cos(i)), [2, 1, 4, 4]);
    a.eval();
    b.eval();
    expect(b.forward(x).toList()).toEqual(a.forward(x).toList());
  });

  it('every field parameter gets a gradient, so an optimizer over parameters() trains it', () => {
    const m = new FieldNet();
    const before = m.parameters().map((p) => p.toList());
    const x = tensor(Float32Array.from({ length: 4 * 16 }, (_, i) => Math.sin(i)), [4, 1, 4, 4]);
    sum(m.forward(x).square()).backward();
    expect(m.namedParameters()).toHaveLength(15);
    for (const [n, p] of m.namedParameters()) expect(p.grad, n).not.toBeNull();
    expect(m.parameters().map((p) => p.toList())).toEqual(before);
  });

  it('train()/eval() reach modules in fields and in field arrays', () => {
    const m = new FieldNet();
    m.eval();
    expect(m.blocks[1]!.bn.training).toBe(false);
    expect(m.head.at(1).training).toBe(false);
    m.train();
    expect(m.blocks[0]!.conv.training).toBe(true);
  });

  it('reassigning a field replaces its registration in place; null drops it; arrays are followed as they grow', () => {
    const m = new FieldNet();
    const lin = new nn.Linear(2, 2, { bias: false });
    m.fc = lin;
    const keys = Object.keys(m.stateDict());
    expect(keys.indexOf('fc.weight')).toBe(keys.indexOf('head.1.bias') + 1);
    expect(keys).not.toContain('fc.bias');
    expect(m.stateDict()['fc.weight']).toBe(lin.weight);
    // `last` still holds the old Linear, which is now no alias: it is registered under its own name
    expect(keys.slice(-2)).toEqual(['last.weight', 'last.bias']);
    m.blocks.push(new FieldBlock());
    expect(Object.keys(m.stateDict())).toContain('blocks.2.bn.running_var');
    (m as unknown as { head: unknown }).head = null;
    expect(Object.keys(m.stateDict()).some((k) => k.startsWith('head.'))).toBe(false);
  });

  it('mixing fields with registerModule keeps assignment order (fields exist before the constructor body)', () => {
    class Mixed extends nn.Module {
      a = new nn.Linear(1, 1);
      constructor() {
        super();
        this.registerModule('b', new nn.Linear(1, 1));
        (this as unknown as { c: nn.Module }).c = new nn.Linear(1, 1);
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(Object.keys(new Mixed().stateDict())).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias', 'c.weight', 'c.bias']);
  });

  it('a tied weight (a field holding a registered parameter) is not registered twice', () => {
    class Tied extends nn.Module {
      enc = new nn.Linear(4, 2);
      w = this.enc.weight;
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const t = new Tied();
    expect(Object.keys(t.stateDict())).toEqual(['enc.weight', 'enc.bias']);
  });

  it('a field pointing back at an enclosing module is reported as a cycle, naming the field', () => {
    class Child extends nn.Module {
      owner: nn.Module | null = null;
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    class Parent extends nn.Module {
      child = new Child();
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const p = new Parent();
    p.child.owner = p;
    expect(() => p.parameters()).toThrow(/module cycle: 'child\.owner' .*leading '_'/);
  });

  it('nn.Parameter copies its tensor, requires grad and is counted by numParameters', () => {
    const src = tensor([1, 2, 3]);
    const p = new nn.Parameter(src);
    expect(p.requiresGrad).toBe(true);
    expect(p.isParameter).toBe(true);
    expect(p.toList()).toEqual([1, 2, 3]);
    src.data[0] = 9;
    expect(p.data[0]).toBe(1);
    expect(() => new nn.Parameter([1, 2] as never)).toThrow(/Parameter: expected a Tensor, got an array/);
  });
});
