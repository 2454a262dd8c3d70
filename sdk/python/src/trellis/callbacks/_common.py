from __future__ import annotations

from typing import Any, Dict, Mapping, Optional


def numeric_metrics(raw: Mapping[str, Any], prefix_filter: Optional[str] = None) -> Dict[str, float]:
    """The metrics that are plain numbers or one-element tensors/arrays, as floats."""
    out: Dict[str, float] = {}
    for name, value in raw.items():
        if prefix_filter is not None and not name.startswith(prefix_filter):
            continue
        if hasattr(value, "numel") and callable(value.numel) and value.numel() != 1:
            continue
        if hasattr(value, "item") and callable(value.item):
            try:
                value = value.item()
            except (ValueError, RuntimeError):
                continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[name] = float(value)
    return out
