#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures under test/fixtures/torch/.

Run with Debian's PyTorch (torch 1.13):  /usr/bin/python3 tools/gen_torch_fixtures.py

The outputs are small, committed JSON files; `npm test` reads them and never needs Python.
Everything is deterministic: fixed seeds, float32 tensors, one thread.

Layout of every stored tensor: {"shape": [...], "data": [flat row-major floats]} with each
float written with at most 9 significant digits (enough to round-trip a float32 exactly).

Module specs are written in aelab's constructor terms: {"type": "Conv2d", "args": [3, 4, 3,
{"stride": 2, "padding": 1}]} means `new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1 })`;
a Sequential's args are the specs of its children. A spec with "positional": true is built the
same way on both sides, `nn.MaxPool2d(3, 2)` ≡ `new nn.MaxPool2d(3, 2)` (null ↔ None, lists ↔
tuples): the check that aelab's layers take PyTorch's positional arguments in PyTorch's order.
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "torch")


# --------------------------------------------------------------------------------------------
# serialisation


def num(v):
    """A float with at most 9 significant digits (round-trips float32); ints stay ints."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    v = float(v)
    if math.isnan(v) or math.isinf(v):
        raise ValueError("non-finite value in fixture: %r" % v)
    r = float("%.9g" % v)
    if r == int(r) and abs(r) < 1e15:
        return int(r)  # "1" rather than "1.0": shorter, and JSON.parse gives the same number
    return r


def T(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        return {"shape": list(t.shape), "data": [int(x) for x in t.reshape(-1).tolist()]}
    t = t.to(torch.float32)
    return {"shape": list(t.shape), "data": [num(x) for x in t.reshape(-1).tolist()]}


def write(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes)" % (os.path.relpath(path, ROOT), os.path.getsize(path)))


def meta(extra=None):
    m = {
        "generator": "tools/gen_torch_fixtures.py",
        "torch": torch.__version__,
        "dtype": "float32",
    }
    if extra:
        m.update(extra)
    return m


# --------------------------------------------------------------------------------------------
# layers


def build(spec):
    """Build the torch module for an aelab spec {type, args}."""
    typ, args = spec["type"], list(spec["args"])
    if spec.get("positional"):
        return getattr(nn, typ)(*[tuple(a) if isinstance(a, list) else a for a in args])
    opts = args.pop() if args and isinstance(args[-1], dict) else {}

    def pair(v):
        return tuple(v) if isinstance(v, list) else v

    if typ == "Linear":
        return nn.Linear(args[0], args[1], bias=opts.get("bias", True))
    if typ == "Conv2d":
        return nn.Conv2d(
            args[0], args[1], pair(args[2]),
            stride=pair(opts.get("stride", 1)), padding=pair(opts.get("padding", 0)),
            dilation=pair(opts.get("dilation", 1)), groups=opts.get("groups", 1),
            bias=opts.get("bias", True))
    if typ == "ConvTranspose2d":
        return nn.ConvTranspose2d(
            args[0], args[1], pair(args[2]),
            stride=pair(opts.get("stride", 1)), padding=pair(opts.get("padding", 0)),
            output_padding=pair(opts.get("outputPadding", 0)),
            dilation=pair(opts.get("dilation", 1)), groups=opts.get("groups", 1),
            bias=opts.get("bias", True))
    if typ == "MaxPool2d":
        return nn.MaxPool2d(pair(args[0]), stride=pair(opts.get("stride", args[0])),
                            padding=pair(opts.get("padding", 0)))
    if typ == "AvgPool2d":
        # aelab's AvgPool2d counts padded zeros in the divisor, as torch's default does.
        return nn.AvgPool2d(pair(args[0]), stride=pair(opts.get("stride", args[0])),
                            padding=pair(opts.get("padding", 0)))
    if typ == "Upsample":
        return nn.Upsample(scale_factor=opts["scaleFactor"], mode="nearest")
    if typ == "Flatten":
        return nn.Flatten(*args)
    if typ == "Unflatten":
        return nn.Unflatten(args[0], tuple(args[1]))
    if typ == "Dropout":
        return nn.Dropout(args[0])
    if typ in ("BatchNorm1d", "BatchNorm2d"):
        cls = nn.BatchNorm1d if typ == "BatchNorm1d" else nn.BatchNorm2d
        return cls(args[0], eps=opts.get("eps", 1e-5), momentum=opts.get("momentum", 0.1),
                   affine=opts.get("affine", True))
    if typ == "Identity":
        return nn.Identity()
    if typ == "Sigmoid":
        return nn.Sigmoid()
    if typ == "Tanh":
        return nn.Tanh()
    if typ == "ReLU":
        return nn.ReLU()
    if typ == "LeakyReLU":
        return nn.LeakyReLU(args[0])
    if typ == "PReLU":
        return nn.PReLU(*args)
    if typ == "ELU":
        return nn.ELU(args[0])
    if typ == "Softplus":
        return nn.Softplus(beta=opts.get("beta", 1), threshold=opts.get("threshold", 20))
    if typ == "Softmax":
        return nn.Softmax(dim=args[0])
    if typ == "LogSoftmax":
        return nn.LogSoftmax(dim=args[0])
    if typ == "Sequential":
        return nn.Sequential(*[build(s) for s in spec["args"]])
    raise ValueError("unknown layer type " + typ)


def randomize_state(m, gen):
    """Replace every parameter and BatchNorm buffer by seeded random values, so the test
    proves that loadStateDict put each tensor in the right place."""
    with torch.no_grad():
        for name, p in m.named_parameters():
            leaf = name.split(".")[-1]
            if leaf == "weight" and isinstance(_owner(m, name), (nn.BatchNorm1d, nn.BatchNorm2d)):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)  # scale in [0.5, 1.5)
            elif isinstance(_owner(m, name), nn.PReLU):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.5)  # slopes in [0, 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        for name, b in m.named_buffers():
            leaf = name.split(".")[-1]
            if leaf == "running_mean":
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
            elif leaf == "running_var":
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif leaf == "num_batches_tracked":
                b.fill_(3)


def _owner(m, dotted):
    parts = dotted.split(".")[:-1]
    for p in parts:
        m = getattr(m, p)
    return m


def layer_case(name, spec, in_shape, gen, mode="train", input_fn=None):
    m = build(spec)
    randomize_state(m, gen)
    state = {k: T(v) for k, v in m.state_dict().items()}
    if input_fn is not None:
        x = input_fn(in_shape, gen)
    else:
        x = torch.randn(in_shape, generator=gen)
    x = x.to(torch.float32).requires_grad_(True)
    m.train(mode == "train")
    # an inplace=True layer overwrites its input, which autograd forbids for a leaf: give it a copy
    out = m(x.clone() if getattr(m, "inplace", False) else x)
    g_out = torch.randn(out.shape, generator=gen)
    (out * g_out).sum().backward()
    case = {
        "name": name,
        "spec": spec,
        "mode": mode,
        "state": state,
        "input": T(x),
        "gOut": T(g_out),
        "output": T(out),
        "gradInput": T(x.grad),
        "grads": {k: T(p.grad) for k, p in m.named_parameters()},
    }
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        # running stats after the one train-mode forward above (running_var uses the unbiased
        # batch variance), then the eval-mode output on the same input with those stats.
        case["stateAfter"] = {k: T(v) for k, v in m.state_dict().items()}
        m.eval()
        with torch.no_grad():
            case["evalOutput"] = T(m(x))
    return case


def gen_layers():
    gen = torch.Generator().manual_seed(1234)
    cases = []

    def add(name, spec, in_shape, **kw):
        cases.append(layer_case(name, spec, in_shape, gen, **kw))

    def S(typ, *args):
        return {"type": typ, "args": list(args)}

    # Linear
    add("Linear(5,3)", S("Linear", 5, 3), [4, 5])
    add("Linear(5,3,bias=False)", S("Linear", 5, 3, {"bias": False}), [4, 5])
    add("Linear(1,1)", S("Linear", 1, 1), [3, 1])

    # Conv2d
    add("Conv2d(3,4,3)", S("Conv2d", 3, 4, 3), [2, 3, 6, 6])
    add("Conv2d(3,4,3,s2,p1)", S("Conv2d", 3, 4, 3, {"stride": 2, "padding": 1}), [2, 3, 7, 7])
    add("Conv2d(3,4,4,s2,p1)", S("Conv2d", 3, 4, 4, {"stride": 2, "padding": 1}), [2, 3, 8, 8])
    add("Conv2d(2,3,3,d2,p2)", S("Conv2d", 2, 3, 3, {"dilation": 2, "padding": 2}), [2, 2, 6, 5])
    add("Conv2d(4,6,3,g2,p1)", S("Conv2d", 4, 6, 3, {"groups": 2, "padding": 1}), [2, 4, 5, 5])
    add("Conv2d(3,2,3,nobias)", S("Conv2d", 3, 2, 3, {"bias": False}), [2, 3, 5, 6])
    add("Conv2d(3,4,[2,3],s[2,1],p[1,0])",
        S("Conv2d", 3, 4, [2, 3], {"stride": [2, 1], "padding": [1, 0]}), [2, 3, 6, 7])
    add("Conv2d(2,3,1)", S("Conv2d", 2, 3, 1), [2, 2, 4, 4])
    add("Conv2d(1,2,3,s3)", S("Conv2d", 1, 2, 3, {"stride": 3}), [2, 1, 8, 8])

    # ConvTranspose2d
    add("ConvTranspose2d(3,2,3)", S("ConvTranspose2d", 3, 2, 3), [2, 3, 4, 4])
    add("ConvTranspose2d(3,2,3,s2,p1,op1)",
        S("ConvTranspose2d", 3, 2, 3, {"stride": 2, "padding": 1, "outputPadding": 1}), [2, 3, 4, 4])
    add("ConvTranspose2d(2,3,4,s2,p1)",
        S("ConvTranspose2d", 2, 3, 4, {"stride": 2, "padding": 1}), [2, 2, 3, 4])
    add("ConvTranspose2d(3,2,3,s2)", S("ConvTranspose2d", 3, 2, 3, {"stride": 2}), [2, 3, 3, 3])
    add("ConvTranspose2d(2,2,3,d2)", S("ConvTranspose2d", 2, 2, 3, {"dilation": 2}), [2, 2, 3, 3])
    add("ConvTranspose2d(2,3,[3,2],s[2,1],p[1,0],nobias)",
        S("ConvTranspose2d", 2, 3, [3, 2], {"stride": [2, 1], "padding": [1, 0], "bias": False}),
        [2, 2, 3, 4])

    # pooling, resampling, reshaping
    add("MaxPool2d(2)", S("MaxPool2d", 2, {"stride": 2}), [2, 3, 6, 6])
    add("MaxPool2d(3,s2,p1)", S("MaxPool2d", 3, {"stride": 2, "padding": 1}), [2, 2, 7, 6])
    add("AvgPool2d(2)", S("AvgPool2d", 2, {"stride": 2}), [2, 3, 6, 6])
    add("AvgPool2d(3,s1,p1)", S("AvgPool2d", 3, {"stride": 1, "padding": 1}), [2, 2, 5, 4])
    add("Upsample(nearest,2)", S("Upsample", {"scaleFactor": 2}), [2, 2, 3, 4])
    add("Flatten()", S("Flatten"), [2, 3, 2, 2])
    add("Flatten(1,2)", S("Flatten", 1, 2), [2, 3, 2, 2])
    add("Unflatten(1,[2,3])", S("Unflatten", 1, [2, 3]), [2, 6])
    add("Unflatten(1,[1,4,4])", S("Unflatten", 1, [1, 4, 4]), [2, 16])
    add("Dropout(0.5).eval", S("Dropout", 0.5), [3, 5], mode="eval")
    add("Identity", S("Identity"), [3, 4])

    # BatchNorm (train-mode forward; stateAfter = running stats; evalOutput)
    add("BatchNorm1d(4)", S("BatchNorm1d", 4), [6, 4])
    add("BatchNorm1d(3,eps1e-3,m0.3,noaffine)",
        S("BatchNorm1d", 3, {"eps": 1e-3, "momentum": 0.3, "affine": False}), [5, 3])
    add("BatchNorm2d(3)", S("BatchNorm2d", 3), [2, 3, 4, 4])
    add("BatchNorm2d(2,m0.2)", S("BatchNorm2d", 2, {"momentum": 0.2}), [3, 2, 3, 3])

    # activations: inputs spread over [-4, 4] with a few exact zeros avoided
    def spread(shape, g):
        return torch.randn(shape, generator=g) * 2.0

    add("Sigmoid", S("Sigmoid"), [3, 5], input_fn=spread)
    add("Tanh", S("Tanh"), [3, 5], input_fn=spread)
    add("ReLU", S("ReLU"), [3, 5], input_fn=spread)
    add("LeakyReLU(0.1)", S("LeakyReLU", 0.1), [3, 5], input_fn=spread)
    add("PReLU(1)", S("PReLU", 1, 0.25), [2, 3, 2, 2], input_fn=spread)
    add("PReLU(3)", S("PReLU", 3, 0.25), [2, 3, 2, 2], input_fn=spread)
    add("PReLU(4) 2-D", S("PReLU", 4, 0.25), [3, 4], input_fn=spread)
    add("ELU(1.0)", S("ELU", 1.0), [3, 5], input_fn=spread)
    add("ELU(0.5)", S("ELU", 0.5), [3, 5], input_fn=spread)

    def softplus_in(shape, g):
        x = torch.randn(shape, generator=g) * 2.0
        x.view(-1)[:4] = torch.tensor([15.0, -15.0, 25.0, -30.0])  # around/over the threshold
        return x

    add("Softplus(beta1)", S("Softplus", {"beta": 1}), [3, 5], input_fn=softplus_in)
    add("Softplus(beta2)", S("Softplus", {"beta": 2}), [3, 5], input_fn=softplus_in)
    add("Softmax(1)", S("Softmax", 1), [3, 5], input_fn=spread)
    add("Softmax(1) 4-D", S("Softmax", 1), [2, 3, 2, 2], input_fn=spread)
    add("LogSoftmax(1)", S("LogSoftmax", 1), [3, 5], input_fn=spread)
    add("LogSoftmax(1) 4-D", S("LogSoftmax", 1), [2, 3, 2, 2], input_fn=spread)

    add("Sequential(Conv2d,ReLU,Flatten,Linear)",
        S("Sequential", S("Conv2d", 1, 2, 3), S("ReLU"), S("Flatten"), S("Linear", 32, 3)),
        [2, 1, 6, 6])

    # PyTorch's positional arguments, in PyTorch's order (issue 15: MaxPool2d(3, 2) took stride 3)
    def P(typ, *args):
        return {"type": typ, "args": list(args), "positional": True}

    add("pos Linear(3,2,False)", P("Linear", 3, 2, False), [4, 3])
    add("pos Conv2d(2,4,3,2,1,1,2,False)", P("Conv2d", 2, 4, 3, 2, 1, 1, 2, False), [2, 2, 7, 7])
    add("pos Conv2d(1,2,3,1,0,2)", P("Conv2d", 1, 2, 3, 1, 0, 2), [1, 1, 7, 7])
    add("pos Conv2d(1,2,3,1,'same')", P("Conv2d", 1, 2, 3, 1, "same"), [1, 1, 5, 5])
    add("pos ConvTranspose2d(4,2,3,2,1,1,2,False,1)", P("ConvTranspose2d", 4, 2, 3, 2, 1, 1, 2, False, 1), [1, 4, 4, 4])
    add("pos ConvTranspose2d(1,1,3,1,0,0,1,True,2)", P("ConvTranspose2d", 1, 1, 3, 1, 0, 0, 1, True, 2), [1, 1, 3, 3])
    add("pos MaxPool2d(3,2)", P("MaxPool2d", 3, 2), [1, 2, 7, 7])
    add("pos MaxPool2d(3)", P("MaxPool2d", 3), [1, 2, 7, 7])
    add("pos MaxPool2d(3,2,1)", P("MaxPool2d", 3, 2, 1), [1, 2, 7, 7])
    add("pos MaxPool2d(3,None,0,1,False,True)", P("MaxPool2d", 3, None, 0, 1, False, True), [1, 2, 8, 8])
    add("pos AvgPool2d(3,2)", P("AvgPool2d", 3, 2), [1, 2, 7, 7])
    add("pos AvgPool2d(2,1,1)", P("AvgPool2d", 2, 1, 1), [1, 2, 5, 5])
    add("pos BatchNorm1d(3,1e-3,0.3,False,False)", P("BatchNorm1d", 3, 1e-3, 0.3, False, False), [5, 3])
    add("pos BatchNorm2d(2,1e-5,0.2)", P("BatchNorm2d", 2, 1e-5, 0.2), [3, 2, 3, 3])
    add("pos Dropout(0.3,True).eval", P("Dropout", 0.3, True), [3, 4], mode="eval")
    add("pos ReLU(True)", P("ReLU", True), [3, 5], input_fn=spread)
    add("pos LeakyReLU(0.2,True)", P("LeakyReLU", 0.2, True), [3, 5], input_fn=spread)
    add("pos ELU(0.5,True)", P("ELU", 0.5, True), [3, 5], input_fn=spread)
    add("pos PReLU(3,0.1)", P("PReLU", 3, 0.1), [2, 3, 2, 2], input_fn=spread)
    add("pos Softplus(2,5)", P("Softplus", 2, 5), [3, 5], input_fn=spread)
    add("pos Softmax() 3-D (implicit dim 0)", P("Softmax"), [2, 3, 4], input_fn=spread)
    add("pos Softmax() 4-D (implicit dim 1)", P("Softmax"), [2, 3, 2, 2], input_fn=spread)
    add("pos LogSoftmax() 2-D (implicit dim 1)", P("LogSoftmax"), [3, 4], input_fn=spread)
    add("pos Softmax(-1)", P("Softmax", -1), [2, 3, 4], input_fn=spread)
    add("pos Flatten(0,1)", P("Flatten", 0, 1), [2, 3, 4])
    add("pos Unflatten(1,[2,3])", P("Unflatten", 1, [2, 3]), [4, 6])
    add("pos Upsample(None,2)", P("Upsample", None, 2), [1, 2, 2, 3])
    add("pos Upsample([4,6])", P("Upsample", [4, 6]), [1, 1, 2, 3])
    add("pos Identity(54)", P("Identity", 54), [2, 3])

    write("layers.json", {"meta": meta({"note": "loss = (output * gOut).sum(); grads are "
                                                "d loss / d input and d loss / d parameter"}),
                          "cases": cases})


# --------------------------------------------------------------------------------------------
# losses


def kl_normal(mu, logvar, reduction):
    per = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=tuple(range(1, mu.dim())))
    return reduce(per, reduction)


def bernoulli_nll(p, y, reduction):
    per = F.binary_cross_entropy(p, y, reduction="none").sum(dim=tuple(range(1, p.dim())))
    return reduce(per, reduction)


def reduce(per, reduction):
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    return per


def loss_case(gen, name, loss, args, fn, reduction, opts=None):
    """args: list of (argName, tensor, differentiable?)."""
    leaves = []
    for arg_name, t, diff in args:
        t = t.detach().clone().to(torch.float32)
        if diff:
            t.requires_grad_(True)
        leaves.append((arg_name, t, diff))
    out = fn(*[t for _, t, _ in leaves], reduction)
    case = {
        "name": name,
        "loss": loss,
        "reduction": reduction,
        "opts": dict(opts or {}, reduction=reduction),
        "args": [{"name": n, **T(t)} for n, t, _ in leaves],
        "output": T(out),
    }
    if reduction == "none":
        g_out = torch.randn(out.shape, generator=gen)
        (out * g_out).sum().backward()
        case["gOut"] = T(g_out)
    else:
        out.backward()
    case["grads"] = {n: T(t.grad) for n, t, diff in leaves if diff}
    return case


def gen_losses():
    gen = torch.Generator().manual_seed(4321)
    cases = []
    R = ["mean", "sum", "none"]

    def randn(*s, scale=1.0):
        return torch.randn(list(s), generator=gen) * scale

    def rand(*s):
        return torch.rand(list(s), generator=gen)

    # mse
    x, y = randn(4, 5), randn(4, 5)
    x4, y4 = randn(2, 1, 3, 3), rand(2, 1, 3, 3)
    for r in R:
        cases.append(loss_case(gen, "mse 2-D", "mse", [("input", x, True), ("target", y, True)],
                               lambda a, b, r: F.mse_loss(a, b, reduction=r), r))
        cases.append(loss_case(gen, "mse 4-D", "mse", [("input", x4, True), ("target", y4, True)],
                               lambda a, b, r: F.mse_loss(a, b, reduction=r), r))

    # bce on probabilities, with values near 0 and 1 against both targets
    p = torch.sigmoid(randn(4, 6, scale=2.0))
    p.view(-1)[:8] = torch.tensor([1e-6, 1e-6, 1 - 1e-6, 1 - 1e-6, 1e-3, 0.999, 0.5, 0.01])
    t = (rand(4, 6) > 0.5).float()
    t.view(-1)[:8] = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    t_soft = rand(4, 6)  # continuous targets in [0, 1], as for grey-level pixels
    for r in R:
        cases.append(loss_case(gen, "bce binary targets", "bce",
                               [("input", p, True), ("target", t, False)],
                               lambda a, b, r: F.binary_cross_entropy(a, b, reduction=r), r))
        cases.append(loss_case(gen, "bce soft targets", "bce",
                               [("input", p, True), ("target", t_soft, False)],
                               lambda a, b, r: F.binary_cross_entropy(a, b, reduction=r), r))

    # bce with logits, including large |logits|
    z = randn(4, 6, scale=3.0)
    z.view(-1)[:6] = torch.tensor([50.0, -50.0, 50.0, -50.0, 20.0, -20.0])
    tz = (rand(4, 6) > 0.5).float()
    tz.view(-1)[:6] = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])
    tz_soft = rand(4, 6)
    for r in R:
        cases.append(loss_case(gen, "bceWithLogits binary targets", "bceWithLogits",
                               [("input", z, True), ("target", tz, False)],
                               lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r), r))
        cases.append(loss_case(gen, "bceWithLogits soft targets", "bceWithLogits",
                               [("input", z, True), ("target", tz_soft, False)],
                               lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r), r))

    # cross entropy: class indices (stored as floats) and one-hot / probability targets
    logits = randn(5, 4, scale=2.0)
    logits[0] = torch.tensor([30.0, -30.0, 0.0, 5.0])  # a confident row
    cls = torch.tensor([0, 3, 1, 2, 1])
    onehot = F.one_hot(cls, 4).float()
    probs = torch.softmax(randn(5, 4), dim=1)
    for r in R:
        cases.append(loss_case(gen, "crossEntropy class indices", "crossEntropy",
                               [("input", logits, True), ("target", cls.float(), False)],
                               lambda a, b, r: F.cross_entropy(a, b.long(), reduction=r), r))
        cases.append(loss_case(gen, "crossEntropy one-hot", "crossEntropy",
                               [("input", logits, True), ("target", onehot, False)],
                               lambda a, b, r: F.cross_entropy(a, b, reduction=r), r))
        cases.append(loss_case(gen, "crossEntropy probabilities", "crossEntropy",
                               [("input", logits, True), ("target", probs, False)],
                               lambda a, b, r: F.cross_entropy(a, b, reduction=r), r))

    # nll on log-softmax output (the log-probabilities are the leaf)
    logp = torch.log_softmax(randn(5, 4, scale=2.0), dim=1)
    for r in R:
        cases.append(loss_case(gen, "nll", "nll",
                               [("input", logp, True), ("target", cls.float(), False)],
                               lambda a, b, r: F.nll_loss(a, b.long(), reduction=r), r))

    # KL(N(mu, exp(logvar)) || N(0, 1)) per sample, summed over the latent
    mu, logvar = randn(4, 3), randn(4, 3, scale=0.7)
    for r in R:
        cases.append(loss_case(gen, "klNormal", "klNormal",
                               [("mu", mu, True), ("logvar", logvar, True)], kl_normal, r))

    # gaussian nll: var has the input's shape, and (B, 1) broadcast over the features
    gi, gt = randn(4, 3), randn(4, 3)
    gv = rand(4, 3) * 1.5 + 0.1
    gv1 = rand(4, 1) * 1.5 + 0.1
    for full in (False, True):
        for r in R:
            cases.append(loss_case(gen, "gaussianNll full=%s" % full, "gaussianNll",
                                   [("input", gi, True), ("target", gt, True), ("var", gv, True)],
                                   lambda a, b, v, r, full=full: F.gaussian_nll_loss(a, b, v, full=full, reduction=r),
                                   r, {"full": full}))
        for r in R:
            cases.append(loss_case(gen, "gaussianNll var (B,1) full=%s" % full, "gaussianNll",
                                   [("input", gi, True), ("target", gt, True), ("var", gv1, True)],
                                   lambda a, b, v, r, full=full: F.gaussian_nll_loss(a, b, v, full=full, reduction=r),
                                   r, {"full": full}))

    # bernoulli nll: BCE summed over all non-batch dims per sample, then reduced over the batch
    bp = torch.sigmoid(randn(3, 1, 4, 4, scale=2.0))
    by = rand(3, 1, 4, 4)
    by_bin = (by > 0.5).float()
    bp2 = torch.sigmoid(randn(4, 6, scale=2.0))
    by2 = (rand(4, 6) > 0.5).float()
    for r in R:
        cases.append(loss_case(gen, "bernoulliNll 4-D soft targets", "bernoulliNll",
                               [("probs", bp, True), ("target", by, False)], bernoulli_nll, r))
        cases.append(loss_case(gen, "bernoulliNll 4-D binary targets", "bernoulliNll",
                               [("probs", bp, True), ("target", by_bin, False)], bernoulli_nll, r))
        cases.append(loss_case(gen, "bernoulliNll 2-D", "bernoulliNll",
                               [("probs", bp2, True), ("target", by2, False)], bernoulli_nll, r))

    write("losses.json", {"meta": meta({"note": "for reduction 'none' the gradients are of "
                                                "(output * gOut).sum(); otherwise of output"}),
                          "cases": cases})


# --------------------------------------------------------------------------------------------
# optimizers, schedulers, gradient clipping


def opt_case(name, cls_name, torch_cls, torch_kw, aelab_opts, gen):
    w0 = torch.randn(3, 4, generator=gen)
    b0 = torch.randn(4, generator=gen)
    steps = 5
    gw = [torch.randn(3, 4, generator=gen) for _ in range(steps)]
    gb = [torch.randn(4, generator=gen) for _ in range(steps)]
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = torch_cls([w, b], **torch_kw)
    after_w, after_b = [], []
    for t in range(steps):
        opt.zero_grad()
        w.grad = gw[t].clone()
        b.grad = gb[t].clone()
        opt.step()
        after_w.append(T(w))
        after_b.append(T(b))
    # torch's resolved hyperparameters, for the record (torch-only flags left out)
    group = {}
    for k, v in opt.param_groups[0].items():
        if k in ("params", "maximize", "differentiable", "capturable", "fused", "foreach"):
            continue
        if isinstance(v, tuple):
            v = list(v)
        if isinstance(v, (bool, int, float, list)):
            group[k] = v
    return {
        "name": name,
        "optimizer": cls_name,
        "opts": aelab_opts,
        "torchParamGroup": group,
        "params": [
            {"name": "weight", "initial": T(w0), "grads": [T(g) for g in gw], "after": after_w},
            {"name": "bias", "initial": T(b0), "grads": [T(g) for g in gb], "after": after_b},
        ],
    }


def gen_optimizers():
    gen = torch.Generator().manual_seed(777)
    O = torch.optim
    cases = []

    def add(name, cls_name, torch_cls, torch_kw, aelab_opts):
        cases.append(opt_case(name, cls_name, torch_cls, torch_kw, aelab_opts, gen))

    add("SGD plain", "SGD", O.SGD, {"lr": 0.1}, {"lr": 0.1})
    add("SGD momentum 0.9", "SGD", O.SGD, {"lr": 0.1, "momentum": 0.9}, {"lr": 0.1, "momentum": 0.9})
    add("SGD momentum 0.9 dampening 0.1", "SGD", O.SGD,
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.1},
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.1})
    add("SGD nesterov", "SGD", O.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True})
    add("SGD weight decay 0.01", "SGD", O.SGD, {"lr": 0.1, "weight_decay": 0.01},
        {"lr": 0.1, "weightDecay": 0.01})
    add("SGD momentum + weight decay", "SGD", O.SGD,
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
        {"lr": 0.1, "momentum": 0.9, "weightDecay": 0.01})

    add("Adagrad default", "Adagrad", O.Adagrad, {"lr": 0.1}, {"lr": 0.1})
    add("Adagrad lr_decay 0.01", "Adagrad", O.Adagrad, {"lr": 0.1, "lr_decay": 0.01},
        {"lr": 0.1, "lrDecay": 0.01})
    add("Adagrad weight_decay 0.1", "Adagrad", O.Adagrad, {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "weightDecay": 0.1})
    add("Adagrad initial_accumulator_value 0.1", "Adagrad", O.Adagrad,
        {"lr": 0.1, "initial_accumulator_value": 0.1},
        {"lr": 0.1, "initialAccumulatorValue": 0.1})

    add("Adadelta default (lr 1.0, rho 0.9)", "Adadelta", O.Adadelta, {}, {})
    add("Adadelta lr 1.0", "Adadelta", O.Adadelta, {"lr": 1.0}, {"lr": 1.0})
    add("Adadelta lr 0.5 rho 0.95 weight_decay 0.01", "Adadelta", O.Adadelta,
        {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01},
        {"lr": 0.5, "rho": 0.95, "weightDecay": 0.01})

    add("RMSprop default", "RMSprop", O.RMSprop, {"lr": 0.01}, {"lr": 0.01})
    add("RMSprop momentum 0.9", "RMSprop", O.RMSprop, {"lr": 0.01, "momentum": 0.9},
        {"lr": 0.01, "momentum": 0.9})
    add("RMSprop centered", "RMSprop", O.RMSprop, {"lr": 0.01, "centered": True},
        {"lr": 0.01, "centered": True})
    add("RMSprop centered + momentum", "RMSprop", O.RMSprop,
        {"lr": 0.01, "centered": True, "momentum": 0.9},
        {"lr": 0.01, "centered": True, "momentum": 0.9})
    add("RMSprop weight_decay 0.1", "RMSprop", O.RMSprop, {"lr": 0.01, "weight_decay": 0.1},
        {"lr": 0.01, "weightDecay": 0.1})

    add("Adam default", "Adam", O.Adam, {"lr": 0.1}, {"lr": 0.1})
    add("Adam lr 1e-3", "Adam", O.Adam, {"lr": 1e-3}, {"lr": 1e-3})
    add("Adam amsgrad", "Adam", O.Adam, {"lr": 0.1, "amsgrad": True}, {"lr": 0.1, "amsgrad": True})
    add("Adam weight_decay 0.1", "Adam", O.Adam, {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "weightDecay": 0.1})
    add("Adam betas (0.8,0.99) eps 1e-6", "Adam", O.Adam,
        {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6},
        {"lr": 0.1, "betas": [0.8, 0.99], "eps": 1e-6})

    # torch's AdamW default weight_decay is 0.01: the "default" case passes none, so it also
    # checks that aelab's AdamW has the same default.
    add("AdamW default (weight_decay 0.01)", "AdamW", O.AdamW, {"lr": 0.1}, {"lr": 0.1})
    add("AdamW weight_decay 0.1", "AdamW", O.AdamW, {"lr": 0.1, "weight_decay": 0.1},
        {"lr": 0.1, "weightDecay": 0.1})
    add("AdamW amsgrad", "AdamW", O.AdamW, {"lr": 0.1, "amsgrad": True},
        {"lr": 0.1, "amsgrad": True})

    schedulers = gen_schedulers()
    clip = gen_clip(gen)
    write("optimizers.json", {
        "meta": meta({"note": "each step: zero grads, set grads[t], step(); after[t] holds the "
                              "parameter after step t+1. Scheduler lrs: lrs[e] is the lr after "
                              "epoch e's opt.step(); sched.step(metric?)."}),
        "optimizers": cases,
        "schedulers": schedulers,
        "clipGradNorm": clip,
    })


def gen_schedulers():
    S = torch.optim.lr_scheduler
    out = []
    epochs = 8
    metrics = [1.0, 0.9, 0.95, 0.93, 0.8, 0.85, 0.86, 0.87]
    metrics_max = [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.71, 0.65]

    def run(name, cls_name, make, aelab_opts, metric_seq=None):
        p = torch.zeros(2, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = []
        for e in range(epochs):
            opt.step()
            if metric_seq is None:
                sched.step()
            else:
                sched.step(metric_seq[e])
            lrs.append(num(opt.param_groups[0]["lr"]))
        c = {"name": name, "scheduler": cls_name, "optimizer": {"type": "SGD", "opts": {"lr": 0.1}},
             "opts": aelab_opts, "initialLr": 0.1, "lrs": lrs}
        if metric_seq is not None:
            c["metrics"] = metric_seq
        out.append(c)

    run("StepLR(step 2, gamma 0.5)", "StepLR", lambda o: S.StepLR(o, step_size=2, gamma=0.5),
        {"stepSize": 2, "gamma": 0.5})
    run("ExponentialLR(0.9)", "ExponentialLR", lambda o: S.ExponentialLR(o, gamma=0.9),
        {"gamma": 0.9})
    run("CosineAnnealingLR(T_max 5, eta_min 0.01)", "CosineAnnealingLR",
        lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01), {"tMax": 5, "etaMin": 0.01})
    run("ReduceLROnPlateau(min, factor 0.5, patience 1)", "ReduceLROnPlateau",
        lambda o: S.ReduceLROnPlateau(o, mode="min", factor=0.5, patience=1),
        {"mode": "min", "factor": 0.5, "patience": 1}, metrics)
    run("ReduceLROnPlateau(max, factor 0.5, patience 1)", "ReduceLROnPlateau",
        lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=1),
        {"mode": "max", "factor": 0.5, "patience": 1}, metrics_max)
    return out


def gen_clip(gen):
    out = []
    gw = torch.randn(3, 4, generator=gen)
    gb = torch.randn(4, generator=gen) * 2.0
    for max_norm, norm_type in ((1.0, 2.0), (1.0, float("inf")), (100.0, 2.0)):
        w = torch.zeros(3, 4, requires_grad=True)
        b = torch.zeros(4, requires_grad=True)
        w.grad = gw.clone()
        b.grad = gb.clone()
        total = torch.nn.utils.clip_grad_norm_([w, b], max_norm, norm_type=norm_type)
        out.append({
            "name": "clip_grad_norm_(max_norm %g, norm_type %s)" % (max_norm, norm_type),
            "maxNorm": max_norm,
            "normType": "inf" if math.isinf(norm_type) else norm_type,
            "grads": [T(gw), T(gb)],
            "totalNorm": num(total.item()),
            "clipped": [T(w.grad), T(b.grad)],
        })
    return out


# --------------------------------------------------------------------------------------------
# seed 000: the single sigmoid neuron


def gen_sigmoid_neuron():
    x, y, lr, steps = 1.0, 0.0, 0.15, 300
    runs = []
    for cost in ("quadratic", "crossEntropy"):
        for w_init, b_init in ((0.6, 0.9), (2.0, 2.0)):
            w = torch.tensor(w_init, dtype=torch.float32, requires_grad=True)
            b = torch.tensor(b_init, dtype=torch.float32, requires_grad=True)
            xs = torch.tensor(x, dtype=torch.float32)
            ys = torch.tensor(y, dtype=torch.float32)
            W, B, A, C, GW, GB = [], [], [], [], [], []
            for t in range(steps + 1):
                a = torch.sigmoid(w * xs + b)
                if cost == "quadratic":
                    c = 0.5 * (ys - a) ** 2
                else:
                    c = -(ys * torch.log(a) + (1 - ys) * torch.log(1 - a))
                W.append(num(w.item()))
                B.append(num(b.item()))
                A.append(num(a.item()))
                C.append(num(c.item()))
                if t == steps:
                    break
                w.grad = None
                b.grad = None
                c.backward()
                GW.append(num(w.grad.item()))
                GB.append(num(b.grad.item()))
                with torch.no_grad():
                    w -= lr * w.grad
                    b -= lr * b.grad
            runs.append({"name": "%s from w=%g,b=%g" % (cost, w_init, b_init), "cost": cost,
                         "w0": w_init, "b0": b_init, "w": W, "b": B, "a": A, "costValues": C,
                         "gradW": GW, "gradB": GB})
    write("sigmoid_neuron.json", {
        "meta": meta({"note": "seed 000: a = sigmoid(w*x + b), x = 1, y = 0; quadratic C = "
                              "(y - a)^2 / 2, crossEntropy C = -(y ln a + (1 - y) ln(1 - a)); "
                              "plain gradient descent w -= lr * dC/dw. Index t of w, b, a, "
                              "costValues is the state after t updates (t = 0..steps); gradW[t], "
                              "gradB[t] are the gradients used by update t+1."}),
        "x": x, "y": y, "lr": lr, "steps": steps, "runs": runs,
    })


# --------------------------------------------------------------------------------------------
# modules: state_dict names of a module built from attributes (aelab registers class fields)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class Net(nn.Module):
    """test/nn/module.test.ts's FieldNet, written the PyTorch way."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.scale = nn.Parameter(torch.ones(1))
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        h = self.conv1(x)
        for b in self.blocks:
            h = b(h)
        return self.fc(self.head(h * self.scale))


def gen_modules():
    gen = torch.Generator().manual_seed(777)
    m = Net()
    randomize_state(m, gen)
    with torch.no_grad():
        m.scale.fill_(1.5)
    m.eval()
    x = torch.randn(2, 1, 4, 4, generator=gen)
    with torch.no_grad():
        y = m(x)
    write("modules.json", {
        "meta": meta({"note": "Net of attributes (conv1, scale, blocks ModuleList, head, fc): "
                              "state_dict keys in order, its values, and the eval-mode output"}),
        "keys": list(m.state_dict().keys()),
        "namedParameters": [n for n, _ in m.named_parameters()],
        "state": {k: T(v) for k, v in m.state_dict().items()},
        "input": T(x),
        "output": T(y),
    })


def gen_activations():
    """GELU (exact and tanh) and SiLU, composites in aelab: values and input gradients."""
    gen = torch.Generator().manual_seed(31)
    x = torch.cat([torch.tensor([-12.0, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 12.0]),
                   3 * torch.randn(29, generator=gen)]).reshape(5, 8)
    g_out = torch.randn(5, 8, generator=gen)
    cases = []
    for name, spec, mod in [
        ("GELU", {"type": "GELU", "args": []}, nn.GELU()),
        ("GELU(tanh)", {"type": "GELU", "args": ["tanh"]}, nn.GELU("tanh")),
        ("SiLU", {"type": "SiLU", "args": []}, nn.SiLU()),
    ]:
        xi = x.clone().requires_grad_(True)
        y = mod(xi)
        (y * g_out).sum().backward()
        cases.append({"name": name, "spec": spec, "input": T(x), "gOut": T(g_out),
                      "output": T(y), "gradInput": T(xi.grad)})
    write("activations.json", {"meta": meta({"note": "loss = (output * gOut).sum()"}), "cases": cases})


GENERATORS = {
    "layers": gen_layers,
    "modules": gen_modules,
    "losses": gen_losses,
    "optimizers": gen_optimizers,
    "sigmoid_neuron": gen_sigmoid_neuron,
    "activations": gen_activations,
}


def main():
    """Every fixture, or only those named: gen_torch_fixtures.py activations losses"""
    names = sys.argv[1:] or list(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        sys.exit("unknown fixture(s) %s; known: %s" % (", ".join(unknown), ", ".join(GENERATORS)))
    torch.manual_seed(0)
    for name in names:
        GENERATORS[name]()
    total = sum(os.path.getsize(os.path.join(OUT_DIR, f)) for f in os.listdir(OUT_DIR))
    print("total %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
