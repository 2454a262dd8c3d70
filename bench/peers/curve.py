"""The learning-curve surrogate of the `search` suite: the same function as bench/curve.ts.

    python curve.py '[{"params": {...}, "epoch": 3}, ...]'   # prints the accuracies as JSON

See bench/curve.ts for the formula. 32-bit arithmetic is done modulo 2**32 to match
JavaScript's Math.imul and >>> 0.
"""
import json
import math
import sys

OPTIMIZERS = ["adam", "sgd", "rmsprop"]
PEAK = [0.93, 0.95, 0.91]
L_STAR = [-3.0, -1.5, -2.5]
W_MOMENTUM = [0.02, 0.25, 0.05]
NOISE_FINAL = 0.005
NOISE_EPOCH = 0.005
M32 = 2**32


def _mix(h, v):
    x = (((h ^ v) % M32) * 0x85EBCA6B) % M32
    x = x ^ (x >> 13)
    x = (x * 0xC2B2AE35) % M32
    return x ^ (x >> 16)


def _quantise(x):
    return math.floor(x * 1e6 + 0.5) % M32


def _config_hash(p):
    h = 0x2545F491
    h = _mix(h, _quantise(math.log10(p["lr"])))
    h = _mix(h, _quantise(p["momentum"]))
    h = _mix(h, _quantise(p["dropout"]))
    h = _mix(h, OPTIMIZERS.index(p["optimizer"]))
    return h


def _gauss(h):
    h2 = _mix(h, 0x9E3779B9)
    u1 = (h + 0.5) / 4294967296
    u2 = (h2 + 0.5) / 4294967296
    return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def final_clean(p):
    o = OPTIMIZERS.index(p["optimizer"])
    L = math.log10(p["lr"])
    return PEAK[o] - 0.06 * (L - L_STAR[o]) ** 2 - W_MOMENTUM[o] * (p["momentum"] - 0.9) ** 2 - 0.4 * (p["dropout"] - 0.2) ** 2


def final_accuracy(p):
    value = final_clean(p) + NOISE_FINAL * _gauss(_config_hash(p))
    return min(0.99, max(0.05, value))


def tau(p):
    return 2 * 10 ** (0.1 * (-2 - math.log10(p["lr"]))) * (1 + p["dropout"])


def true_value(p, epochs):
    """The config's noiseless accuracy after `epochs` (regret is measured on the incumbent's)."""
    return final_clean(p) * (1 - math.exp(-epochs / tau(p)))


def accuracy(p, epoch):
    """Validation accuracy after `epoch` (1-based) epochs."""
    h = _config_hash(p)
    return final_accuracy(p) * (1 - math.exp(-epoch / tau(p))) + NOISE_EPOCH * _gauss(_mix(h, epoch % M32))


if __name__ == "__main__":
    cases = json.loads(sys.argv[1])
    print(json.dumps([accuracy(c["params"], c["epoch"]) for c in cases]))
