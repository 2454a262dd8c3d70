#!/usr/bin/env python3
"""A small PyTorch trial for the GPU checks in bench/gpu/run.sh (run through the `command` runtime).

It trains a width x depth MLP on synthetic data for --steps steps per epoch and reports, per
epoch, the loss and what the process saw of its GPU: whether CUDA is available, how many devices
CUDA_VISIBLE_DEVICES shows, torch's peak reserved memory (MiB), the GPU memory share Trellis gave
it (TRELLIS_GPU_MEMORY; 0 = whole GPUs) and wall-clock start/now (to count how many trials ran at
once). Without a GPU it runs on the CPU and says so (cuda_available=0), so the check can tell a
pinned GPU from a silent CPU fallback.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

try:
    import trellis
except ImportError:  # run from a checkout without `pip install ./sdk/python`
    sys.path.insert(0, str(Path(__file__).resolve().parent / ".." / ".." / "sdk" / "python" / "src"))
    import trellis


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    params = trellis.params({"width": 1024, "batch_size": 256, "depth": 4, "lr": 1e-3})
    torch.manual_seed(trellis.seed(0))
    started = time.monotonic()
    started_unix = time.time()
    share_mib = int(os.environ.get("TRELLIS_GPU_MEMORY") or 0) / 2**20
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    print(
        f"device={device} CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r} "
        f"TRELLIS_GPU_MEMORY={os.environ.get('TRELLIS_GPU_MEMORY')!r} params={params}",
        file=sys.stderr,
        flush=True,
    )
    width, depth, batch = int(params["width"]), int(params["depth"]), int(params["batch_size"])
    layers, n_in = [], 256
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    layers.append(nn.Linear(n_in, 10))
    model = nn.Sequential(*layers).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=float(params["lr"]))
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch * 8, 256, device=device)
    y = torch.randint(0, 10, (batch * 8,), device=device)
    for epoch in range(1, args.epochs + 1):
        for step in range(args.steps):
            i = (step % 8) * batch
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[i : i + batch]), y[i : i + batch])
            loss.backward()
            opt.step()
            if trellis.should_stop():
                return
        if cuda:
            torch.cuda.synchronize()
        trellis.report(
            step=epoch,
            loss=float(loss.item()),
            cuda_available=1 if cuda else 0,
            device_count=torch.cuda.device_count() if cuda else 0,
            peak_reserved_mib=(torch.cuda.max_memory_reserved() / 2**20) if cuda else 0,
            seconds=time.monotonic() - started,
            started_unix=started_unix,
            now_unix=time.time(),
            share_mib=share_mib,
        )


if __name__ == "__main__":
    main()
