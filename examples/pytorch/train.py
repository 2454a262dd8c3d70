#!/usr/bin/env python3
"""An MLP on optdigits in PyTorch, written for Trellis's `command` runtime.

It talks to Trellis through the Python SDK (`pip install ./sdk/python`, import `trellis`;
see README.md), which speaks the runtime's contract and lets the script run alone too:
  * hyperparameters: trellis.params(defaults); the seed: trellis.seed() (in [0, 2^31 - 1]),
    given to random, numpy and torch;
  * one report per epoch: trellis.report(step=epoch, train_loss=..., val_loss=..., val_accuracy=...);
  * the checkpoint lives in trellis.checkpoint_dir(): written every TRELLIS_CHECKPOINT_EVERY
    epochs, announced with trellis.checkpoint_saved(epoch), and restored on resume;
  * a stop request (pruned, cancelled, worker draining) is trellis.should_stop(), polled per batch;
  * trellis.report_final(test_loss=..., test_accuracy=...) carries the test-set result;
  * the GPU is whatever CUDA_VISIBLE_DEVICES shows (the worker pins it; empty means CPU).
"""
import argparse
import atexit
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

try:
    import numpy as np
except ImportError:  # torch runs without numpy; then there is no numpy RNG to seed
    np = None

try:
    import trellis
except ImportError:  # run from a checkout without `pip install ./sdk/python`
    sys.path.insert(0, str(Path(__file__).resolve().parent / ".." / ".." / "sdk" / "python" / "src"))
    import trellis

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE / ".." / ".." / "datasets" / "optdigits"


def log(message):
    print(message, file=sys.stderr, flush=True)


def load_csv(path):
    """Reads an optdigits file: 64 integer features (0..16) then the class; header line optional."""
    features, labels = [], []
    with open(path, newline="") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip().lstrip("-").isdigit():
                continue  # header line or blank line
            values = [int(v) for v in row]
            features.append(values[:-1])
            labels.append(values[-1])
    x = torch.tensor(features, dtype=torch.float32) / 16.0
    y = torch.tensor(labels, dtype=torch.long)
    return x, y


def build_model(hidden, dropout, n_in=64, n_out=10):
    layers, width = [], n_in
    for units in hidden:
        layers += [nn.Linear(width, units), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = units
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


@torch.no_grad()
def evaluate(model, x, y, batch_size, device):
    model.eval()
    total_loss, correct = 0.0, 0
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        yb = y[start : start + batch_size].to(device)
        logits = model(xb)
        total_loss += loss_fn(logits, yb).item()
        correct += (logits.argmax(dim=1) == yb).sum().item()
    return total_loss / len(x), correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=trellis.seed(0))
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("OPTDIGITS_DIR", DEFAULT_DATA)))
    parser.add_argument("--validation", type=float, default=0.15)
    args = parser.parse_args()

    params = trellis.params({"lr": 1e-3, "batch_size": 64, "hidden": [128], "dropout": 0.0, "weight_decay": 0.0})
    lr = float(params["lr"])
    batch_size = int(params["batch_size"])
    hidden = params["hidden"]
    hidden = [int(h) for h in (hidden if isinstance(hidden, list) else [hidden])]
    dropout = float(params["dropout"])
    weight_decay = float(params["weight_decay"])

    # Run alone (no TRELLIS_CHECKPOINT_DIR), each run starts fresh in a temporary directory
    # rather than resuming whatever an earlier run left beside the script.
    if trellis.in_trellis():
        checkpoint_dir = trellis.checkpoint_dir()
    else:
        checkpoint_dir = Path(tempfile.mkdtemp(prefix="trellis-train-"))
        atexit.register(shutil.rmtree, checkpoint_dir, True)
    checkpoint_path = checkpoint_dir / "checkpoint.pt"
    checkpoint_every = int(os.environ.get("TRELLIS_CHECKPOINT_EVERY", "1"))

    random.seed(args.seed)
    if np is not None:
        np.random.seed(args.seed)  # accepts only [0, 2^32 - 1]: Trellis seeds are in [0, 2^31 - 1]
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    log(f"device={device} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r} params={params}")

    x_all, y_all = load_csv(args.data / "optdigits.tra")
    x_test, y_test = load_csv(args.data / "optdigits.tes")
    # The validation split depends only on the seed, so a resumed attempt sees the same split.
    order = torch.randperm(len(x_all), generator=torch.Generator().manual_seed(args.seed))
    n_val = int(len(x_all) * args.validation)
    val_idx, train_idx = order[:n_val], order[n_val:]
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    model = build_model(hidden, dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()

    start_epoch = 0
    if checkpoint_path.exists():
        # Load on the CPU: the RNG state must stay a CPU tensor; load_state_dict moves the rest.
        state = torch.load(checkpoint_path, map_location="cpu")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"])
        log(f"resumed from epoch {start_epoch} (TRELLIS_RESUME_STEP={os.environ.get('TRELLIS_RESUME_STEP')})")

    def save_checkpoint(epoch):
        state = {
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        tmp = checkpoint_path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, checkpoint_path)  # atomic: the runtime never packs a half-written file
        trellis.checkpoint_saved(epoch)

    # The first call installs the SDK's SIGTERM handler (under Trellis): a stop request becomes a flag.
    trellis.should_stop()

    completed = start_epoch
    for epoch in range(start_epoch + 1, args.epochs + 1):
        model.train()
        started = time.time()
        perm = torch.randperm(len(x_train))
        total = 0.0
        for start in range(0, len(x_train), batch_size):
            batch = perm[start : start + batch_size]
            xb, yb = x_train[batch].to(device), y_train[batch].to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            if trellis.should_stop():
                break
        if trellis.should_stop():
            # The epoch is incomplete: keep the last full-epoch checkpoint and leave.
            log(f"SIGTERM during epoch {epoch}: stopping")
            sys.exit(0)
        val_loss, val_accuracy = evaluate(model, x_val, y_val, 512, device)
        trellis.report(
            step=epoch,
            train_loss=total / len(x_train),
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            epoch_seconds=time.time() - started,
        )
        completed = epoch
        if checkpoint_every > 0 and epoch % checkpoint_every == 0:
            save_checkpoint(epoch)

    if checkpoint_every > 0 and completed > start_epoch and completed % checkpoint_every != 0:
        save_checkpoint(completed)
    test_loss, test_accuracy = evaluate(model, x_test, y_test, 512, device)
    trellis.report_final(test_loss=test_loss, test_accuracy=test_accuracy)


if __name__ == "__main__":
    main()
