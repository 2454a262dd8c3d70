"""Hugging Face Trainer: report each evaluation to Trellis; stop when Trellis asks.

    from trellis.callbacks.huggingface import TrellisCallback
    trainer = transformers.Trainer(..., callbacks=[TrellisCallback()])

Reports the numeric metrics of every evaluation (``on_evaluate``; with
``eval_strategy="epoch"`` that is each validation epoch) with ``step`` = the epoch number
(rounded) when known, else the global step; sets ``control.should_training_stop`` once
:func:`trellis.should_stop` is true (checked after every step and evaluation).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .. import _trial
from ._common import numeric_metrics

try:  # the SDK does not require transformers
    from transformers import TrainerCallback as _Base  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on what is installed
    _Base = object  # type: ignore[assignment,misc]


class TrellisCallback(_Base):  # type: ignore[misc,valid-type]
    def __init__(
        self,
        metrics: Optional[Callable[[Dict[str, float]], Dict[str, float]]] = None,
        report: Callable[..., None] = _trial.report,
        should_stop: Callable[[], bool] = _trial.should_stop,
    ) -> None:
        super().__init__()
        self._select = metrics
        self._report = report
        self._should_stop = should_stop

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Any:
        values = numeric_metrics(metrics or {})
        values.pop("epoch", None)  # the step, not a metric
        if self._select is not None:
            values = self._select(values)
        if values:
            epoch = getattr(state, "epoch", None)
            step = int(round(epoch)) if epoch else int(getattr(state, "global_step", 0))
            self._report(step=step, **values)
        return self._honour_stop(control)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        return self._honour_stop(control)

    def _honour_stop(self, control: Any) -> Any:
        if self._should_stop():
            control.should_training_stop = True
        return control
