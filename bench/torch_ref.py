#!/usr/bin/env python3
"""PyTorch reference for aelab's benchmarks (bench/run.mjs runs it as a child process).

Throughput (default mode): trains the same models as bench/worker.mjs on the same data with the
same hyperparameters -- batch 128, Adam(lr=1e-3), BCE (mean) against the input -- and prints one
JSON object per model: samples/s over the timed steps after warm-up, threads, peak RSS.

    python3 bench/torch_ref.py --models mlp,conv --warmup 5 --steps 30 --threads 2
    python3 bench/torch_ref.py --gemm 512x512x512,128x784x512 --threads 2     # torch.mm GFLOP/s

Quality (--vae-quality): PyTorch's examples/vae (784-400-20, ReLU, sigmoid, BCE summed + KL,
Adam 1e-3, batch 128, shuffled) for N epochs on Fashion-MNIST train; reports the test negative
ELBO per image (nats) and seconds per epoch after every epoch.

    python3 bench/torch_ref.py --vae-quality --epochs 10 --threads 2 --seed 1

MLP quality (--mlp-quality): the classifier 784-512-256-10 (ReLU, nn.Linear's default init,
optional dropout after each hidden ReLU), cross-entropy, Adam 1e-3, batch 128, shuffled, inputs
in [0, 1] (or standardised with --standardize MEAN,STD); reports the test accuracy after every
epoch and after the last one.

    python3 bench/torch_ref.py --mlp-quality --epochs 10 --threads 2 --seed 1 --dropout 0.2

Every mode prints exactly one JSON document on stdout (a list when several models are given).
"""
import argparse
import glob
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Debian's python3-torch calls whatever libblas.so.3 the alternatives system points to. Without an
# optimised BLAS installed that is the reference (netlib) BLAS: ~5 GFLOP/s, which makes PyTorch's
# Linear layers ~10x slower than any PyTorch a user would run. --blas openblas runs torch over
# Debian's libopenblas0-openmp unpacked under bench/out/ (no system change), by re-executing this
# script with LD_LIBRARY_PATH pointing at it.
OPENBLAS_PKG = "libopenblas0-openmp"
OPENBLAS_ROOT = os.path.join(HERE, "out", "openblas-openmp")
OPENBLAS_DIR = os.path.join(OPENBLAS_ROOT, "usr", "lib", "x86_64-linux-gnu", "openblas-openmp")
REEXEC_MARK = "AELAB_BENCH_BLAS_REEXEC"


def system_blas():
    """Where the dynamic linker's libblas.so.3 really points (Debian alternatives)."""
    for p in ("/usr/lib/x86_64-linux-gnu/libblas.so.3", "/lib/x86_64-linux-gnu/libblas.so.3"):
        if os.path.exists(p):
            return os.path.realpath(p)
    return None


def setup_openblas():
    """Unpacks Debian's libopenblas0-openmp under bench/out/ (apt's cache first, else apt-get download).
    Returns None on success, else why it could not."""
    if os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
        return None
    if not shutil.which("dpkg"):
        return "dpkg not found"
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    debs = sorted(glob.glob(f"/var/cache/apt/archives/{OPENBLAS_PKG}_*.deb")) + \
        sorted(glob.glob(os.path.join(HERE, "out", f"{OPENBLAS_PKG}_*.deb")))
    if not debs:
        r = subprocess.run(["apt-get", "download", OPENBLAS_PKG], cwd=os.path.join(HERE, "out"),
                           capture_output=True, text=True)
        debs = sorted(glob.glob(os.path.join(HERE, "out", f"{OPENBLAS_PKG}_*.deb")))
        if not debs:
            return f"apt-get download {OPENBLAS_PKG} failed: {(r.stderr or r.stdout).strip()[-300:]}"
    r = subprocess.run(["dpkg", "-x", debs[-1], OPENBLAS_ROOT], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
        return f"dpkg -x {debs[-1]} failed: {r.stderr.strip()[-300:]}"
    return None


def choose_blas(mode):
    """Re-executes with OpenBLAS on the library path when asked (or, for 'auto', when it is
    unpacked already and the system BLAS is not an optimised one). Returns a note or None."""
    if os.environ.get(REEXEC_MARK):
        return None
    sysblas = system_blas() or ""
    optimised = any(k in sysblas for k in ("openblas", "blis", "mkl", "atlas"))
    if mode == "system" or optimised:
        return None
    if mode == "openblas":
        why = setup_openblas()
        if why:
            return f"OpenBLAS unavailable ({why}); using the system BLAS {sysblas}"
    elif not os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
        return None
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env[REEXEC_MARK] = "1"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
    return None  # not reached


def loaded_blas():
    """The BLAS library this process actually mapped, for the report."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line and ".so" in line}
    except OSError:
        return "unknown"
    for lib in sorted(libs):
        if "openblas" in lib:
            where = "unpacked under bench/out/" if lib.startswith(HERE) else os.path.dirname(lib)
            return f"OpenBLAS ({'openmp' if 'openmp' in lib else 'pthread' if 'pthread' in lib else '?'}, {where})"
    for lib in sorted(libs):
        real = os.path.realpath(lib)
        if any(k in real for k in ("blis", "mkl", "atlas")):
            return real
        return f"reference BLAS ({real})"
    return "none mapped"


def _early_blas_mode():
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        if a == "--blas" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--blas="):
            return a.split("=", 1)[1]
    return "auto"


if __name__ == "__main__" and "--setup-openblas" not in sys.argv and "-h" not in sys.argv and "--help" not in sys.argv:
    BLAS_NOTE = choose_blas(_early_blas_mode())
else:
    BLAS_NOTE = None

# GNU OpenMP's default barrier spins; on this shared 2-core machine, when another process holds a
# core, every parallel region then waits a scheduler time slice for the descheduled thread and
# 2-thread PyTorch runs up to 10x slower than 1-thread (measured: examples/vae 121 ms/step vs 14).
# Passive waiting removes that collapse (17 ms/step) and costs nothing measurable when idle. Must be
# set before libgomp loads (import torch); an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
HEARTBEAT = os.environ.get("AELAB_BENCH_HEARTBEAT") == "1"
BATCH = 128
LR = 1e-3


def peak_rss_mb():
    """Peak resident set size (VmHWM) in MB; ru_maxrss (KiB on Linux) as a fallback."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_images(path, n=None):
    """The first n images (all when None) of an IDX3 file as float32 (n, 784) in [0, 1].
    Reads only the bytes needed, as bench/common.mjs does, so peak RSS reflects the engine."""
    with gzip.open(path, "rb") as f:
        head = f.read(16)
        magic, count, rows, cols = (int.from_bytes(head[i:i + 4], "big") for i in (0, 4, 8, 12))
        if magic != 0x803 or rows != 28 or cols != 28:
            raise SystemExit(f"{path}: not a 28x28 IDX3 image file (magic {magic:#x})")
        take = count if n is None else min(n, count)
        buf = f.read(take * 784)
    x = np.frombuffer(buf, dtype=np.uint8).reshape(take, 784).astype(np.float32) / 255.0
    return x, count


def load_train(n, data_dir=None):
    """Same images as bench/common.mjs loadImages(n): first n training images, cycled if needed;
    uniform random from a fixed seed when the file is absent."""
    path = os.path.join(data_dir or DATA_DIR, "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        rng = np.random.default_rng(12345)
        return rng.random((n, 784), dtype=np.float32), f"random uniform pixels ({path} not found)"
    x, _ = read_images(path, n)
    if x.shape[0] < n:
        x = np.resize(x, (n, 784))
    return x, f"Fashion-MNIST train, first {min(n, 60000)} images ({path})"


def mlp_ae():
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(),
        nn.Linear(512, 256), nn.ReLU(),
        nn.Linear(256, 32),
        nn.Linear(32, 256), nn.ReLU(),
        nn.Linear(256, 512), nn.ReLU(),
        nn.Linear(512, 784), nn.Sigmoid(),
    )


def conv_ae():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3136, 16),
        nn.Linear(16, 3136), nn.ReLU(),
        nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),
    )


MODELS = {"mlp": mlp_ae, "conv": conv_ae}


def bench_model(name, warmup, steps, max_seconds, data_dir=None):
    images, source = load_train((warmup + steps) * BATCH, data_dir)
    n_batches = images.shape[0] // BATCH
    model = MODELS[name]()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    shape = (BATCH, 1, 28, 28) if name == "conv" else (BATCH, 784)

    # Same budget as bench/worker.mjs: warm-up ends early after max_seconds/2 (>= 1 step), the
    # timed phase after max_seconds (>= 1 step).
    losses, step_ms = [], []
    timed, warm_ms, warm_done = 0.0, 0.0, 0
    i = -1
    while len(step_ms) < steps and not (step_ms and timed > max_seconds):
        i += 1
        j = i % n_batches
        s = time.perf_counter()
        x = torch.from_numpy(images[j * BATCH:(j + 1) * BATCH]).reshape(shape)
        opt.zero_grad()
        loss = F.binary_cross_entropy(model(x), x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        e = time.perf_counter()
        if HEARTBEAT:  # progress for bench/run.mjs's hang watchdog
            print(f"@@BENCH_STEP {i} {(e - s) * 1000:.1f}", file=sys.stderr, flush=True)
        if warm_done < warmup and not (warm_done >= 1 and warm_ms > max_seconds / 2):
            warm_done += 1
            warm_ms += e - s
            if warm_ms > max_seconds / 2:
                warmup = warm_done
            continue
        step_ms.append((e - s) * 1000)
        timed += e - s
    return {
        "ok": True,
        "engine": "torch",
        "version": torch.__version__,
        "backend": "cpu",
        "threads": torch.get_num_threads(),
        "model": name,
        "warmupSteps": warm_done,
        "timedSteps": len(step_ms),
        "samplesPerSec": len(step_ms) * BATCH / timed,
        "medianStepMs": statistics.median(step_ms),
        "losses": losses,
        "lossFirst": losses[0],
        "lossLast": losses[-1],
        "peakRssMb": peak_rss_mb(),
        "data": source,
        "blas": loaded_blas(),
        "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
        "notes": [BLAS_NOTE] if BLAS_NOTE else [],
    }


def bench_gemm(sizes, seconds):
    out = []
    for (m, k, n) in sizes:
        a = torch.rand(m, k) - 0.5
        b = torch.rand(k, n) - 0.5
        c = torch.empty(m, n)
        flop = 2 * m * n * k
        calls, w0 = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - w0 < 0.2:
            torch.mm(a, b, out=c)
            calls += 1
        per_call = (time.perf_counter() - w0) / calls
        chunk = max(1, int(0.15 / per_call + 0.999))
        rates, end = [], time.perf_counter() + seconds
        while len(rates) < 3 or (time.perf_counter() < end and len(rates) < 50):
            s = time.perf_counter()
            for _ in range(chunk):
                torch.mm(a, b, out=c)
            rates.append(flop * chunk / (time.perf_counter() - s) / 1e9)
        out.append({"M": m, "K": k, "N": n, "gflops": statistics.median(rates), "best": max(rates), "chunks": len(rates)})
    return {"ok": True, "engine": "torch", "version": torch.__version__, "backend": "cpu",
            "threads": torch.get_num_threads(), "gemm": out, "peakRssMb": peak_rss_mb(),
            "blas": loaded_blas(), "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
            "notes": [BLAS_NOTE] if BLAS_NOTE else []}


# ---- examples/vae ----------------------------------------------------------------------------

class VAE(nn.Module):
    """pytorch/examples vae/main.py, unchanged."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def vae_loss(recon_x, x, mu, logvar):
    """Reconstruction + KL divergence losses summed over all elements and batch (negative ELBO)."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


FASHION_FILES = {"xtr": "train-images-idx3-ubyte.gz", "ytr": "train-labels-idx1-ubyte.gz",
                 "xte": "t10k-images-idx3-ubyte.gz", "yte": "t10k-labels-idx1-ubyte.gz"}


def fashion_paths(data_dir, flag, keys):
    """Paths of the Fashion-MNIST files `keys` (of FASHION_FILES); a clear exit when one is missing."""
    paths = {k: os.path.join(data_dir, FASHION_FILES[k]) for k in keys}
    for p in paths.values():
        if not os.path.exists(p):
            raise SystemExit(f"{flag} needs Fashion-MNIST: {p} not found (apt-get install dataset-fashion-mnist)")
    return paths


def run_epochs(model, opt, n, step_loss, evaluate, epochs, seed, train_key, sched=None):
    """
    Trains for `epochs` epochs over a seeded shuffle of n samples in batches of BATCH, as
    DataLoader(shuffle=True) does with the last batch kept. step_loss(idx) gives the batch's loss
    and its weight in the epoch's total (total / n is reported as `train_key`); evaluate() gives
    the test fields, run in eval mode without gradients. The scheduler, if any, steps once per
    epoch, as aelab's Trainer does. Prints each epoch's record to stderr; returns them all.
    """
    gen = torch.Generator().manual_seed(seed)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, BATCH):
            opt.zero_grad()
            loss, weight = step_loss(perm[i:i + BATCH])
            loss.backward()
            total += loss.item() * weight
            opt.step()
        if sched is not None:
            sched.step()
        secs = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            rec = {"epoch": epoch, train_key: total / n, **evaluate(), "secondsPerEpoch": secs}
        history.append(rec)
        print(json.dumps(rec), file=sys.stderr, flush=True)
    return history


def vae_quality(epochs, seed, data_dir):
    torch.manual_seed(seed)
    paths = fashion_paths(data_dir, "--vae-quality", ("xtr", "xte"))
    train = torch.from_numpy(read_images(paths["xtr"])[0])
    test = torch.from_numpy(read_images(paths["xte"])[0])
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step_loss(idx):  # summed over the batch: weight 1
        x = train[idx]
        recon, mu, logvar = model(x)
        return vae_loss(recon, x, mu, logvar), 1

    def evaluate():
        test_total = 0.0
        for i in range(0, test.shape[0], BATCH):
            x = test[i:i + BATCH]
            recon, mu, logvar = model(x)
            test_total += vae_loss(recon, x, mu, logvar).item()
        return {"testNegElboPerImage": test_total / test.shape[0]}

    history = run_epochs(model, opt, train.shape[0], step_loss, evaluate, epochs, seed, "trainNegElboPerImage")
    return {
        "ok": True, "engine": "torch", "mode": "vae-quality", "version": torch.__version__,
        "threads": torch.get_num_threads(), "seed": seed, "epochs": epochs,
        "model": "examples/vae 784-400-20 (ReLU, sigmoid), BCE(sum)+KL, Adam 1e-3, batch 128",
        "data": f"Fashion-MNIST train {train.shape[0]} / test {test.shape[0]} ({data_dir})",
        "testNegElboPerImage": history[-1]["testNegElboPerImage"],
        "secondsPerEpoch": statistics.median(h["secondsPerEpoch"] for h in history),
        "history": history, "peakRssMb": peak_rss_mb(),
        "blas": loaded_blas(), "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
        "notes": [BLAS_NOTE] if BLAS_NOTE else [],
    }


# ---- MLP classifier --------------------------------------------------------------------------

def read_labels(path):
    with gzip.open(path, "rb") as f:
        head = f.read(8)
        magic, count = (int.from_bytes(head[i:i + 4], "big") for i in (0, 4))
        if magic != 0x801:
            raise SystemExit(f"{path}: not an IDX1 label file (magic {magic:#x})")
        buf = f.read(count)
    return np.frombuffer(buf, dtype=np.uint8).astype(np.int64)


def mlp_classifier(dropout, hidden=(512, 256)):
    layers, d = [], 784
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, 10))
    return nn.Sequential(*layers)


def mlp_quality(epochs, seed, data_dir, dropout, standardize, weight_decay, schedule):
    torch.manual_seed(seed)
    paths = fashion_paths(data_dir, "--mlp-quality", ("xtr", "ytr", "xte", "yte"))
    xtr = torch.from_numpy(read_images(paths["xtr"])[0])
    xte = torch.from_numpy(read_images(paths["xte"])[0])
    ytr = torch.from_numpy(read_labels(paths["ytr"]))
    yte = torch.from_numpy(read_labels(paths["yte"]))
    if standardize:
        m, s = standardize
        xtr, xte = (xtr - m) / s, (xte - m) / s
    model = mlp_classifier(dropout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if schedule == "cosine" else None

    def step_loss(idx):  # the batch mean: weight = batch size
        return F.cross_entropy(model(xtr[idx]), ytr[idx]), idx.shape[0]

    def evaluate():
        logits = model(xte)
        return {"testCe": F.cross_entropy(logits, yte).item(),
                "testAccuracy": (logits.argmax(1) == yte).float().mean().item()}

    history = run_epochs(model, opt, xtr.shape[0], step_loss, evaluate, epochs, seed, "trainCe", sched)
    return {
        "ok": True, "engine": "torch", "mode": "mlp-quality", "version": torch.__version__,
        "threads": torch.get_num_threads(), "seed": seed, "epochs": epochs,
        "model": f"MLP 784-512-256-10 (ReLU, dropout {dropout}), CE, Adam 1e-3 (weight decay {weight_decay}, "
                 f"schedule {schedule}), batch 128",
        "inputs": f"standardised by mean {standardize[0]} / std {standardize[1]}" if standardize else "[0, 1]",
        "data": f"Fashion-MNIST train {xtr.shape[0]} / test {xte.shape[0]} ({data_dir})",
        "testAccuracy": history[-1]["testAccuracy"], "testCe": history[-1]["testCe"],
        "secondsPerEpoch": statistics.median(h["secondsPerEpoch"] for h in history),
        "history": history, "peakRssMb": peak_rss_mb(),
        "blas": loaded_blas(), "notes": [BLAS_NOTE] if BLAS_NOTE else [],
    }


def parse_sizes(s):
    out = []
    for part in s.split(","):
        dims = [int(v) for v in part.lower().split("x")]
        if len(dims) != 3:
            raise SystemExit(f"--gemm: '{part}' is not MxKxN")
        out.append(tuple(dims))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mlp,conv", help="comma list of mlp, conv")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--max-seconds", type=float, default=90.0, help="cap on the timed phase per model")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--gemm", default=None, help="MxKxN list, e.g. 512x512x512,128x784x512")
    ap.add_argument("--gemm-seconds", type=float, default=1.5)
    ap.add_argument("--vae-quality", action="store_true")
    ap.add_argument("--mlp-quality", action="store_true")
    ap.add_argument("--dropout", type=float, default=0.0, help="--mlp-quality: dropout after each hidden ReLU")
    ap.add_argument("--weight-decay", type=float, default=0.0, help="--mlp-quality: Adam's (L2) weight decay")
    ap.add_argument("--schedule", choices=["none", "cosine"], default="none",
                    help="--mlp-quality: learning-rate schedule over the epochs (cosine: to 0 at the last)")
    ap.add_argument("--standardize", default=None, metavar="MEAN,STD",
                    help="--mlp-quality: inputs (x - MEAN) / STD instead of [0, 1], e.g. 0.2860,0.3530")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--blas", choices=["auto", "system", "openblas"], default="auto",
                    help="auto: OpenBLAS if unpacked under bench/out/ (see --setup-openblas), else the "
                         "system BLAS; openblas: unpack it if needed; system: as installed")
    ap.add_argument("--setup-openblas", action="store_true",
                    help=f"unpack Debian's {OPENBLAS_PKG} under bench/out/ and exit")
    args = ap.parse_args()

    if args.setup_openblas:
        why = setup_openblas()
        print(json.dumps({"ok": why is None, "dir": OPENBLAS_DIR, "error": why}))
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.vae_quality:
        print(json.dumps(vae_quality(args.epochs, args.seed, args.data_dir)))
        return
    if args.mlp_quality:
        std = tuple(float(v) for v in args.standardize.split(",")) if args.standardize else None
        if std is not None and len(std) != 2:
            raise SystemExit("--standardize: expected MEAN,STD")
        print(json.dumps(mlp_quality(args.epochs, args.seed, args.data_dir, args.dropout, std, args.weight_decay, args.schedule)))
        return
    if args.gemm:
        print(json.dumps(bench_gemm(parse_sizes(args.gemm), args.gemm_seconds)))
        return
    names = [m for m in args.models.split(",") if m]
    for m in names:
        if m not in MODELS:
            raise SystemExit(f"--models: unknown model '{m}' (expected {', '.join(MODELS)})")
    results = [bench_model(m, args.warmup, args.steps, args.max_seconds, args.data_dir) for m in names]
    print(json.dumps(results[0] if len(results) == 1 else results))


if __name__ == "__main__":
    main()
