"""PyTorch Lightning: report each validation epoch to Trellis; stop when Trellis asks.

    from trellis.callbacks.lightning import TrellisCallback
    trainer = lightning.Trainer(callbacks=[TrellisCallback()])

Reports ``trainer.callback_metrics`` (numbers and one-element tensors) at the end of every
validation epoch (not the sanity check) with ``step = trainer.current_epoch + 1``, and sets
``trainer.should_stop`` once :func:`trellis.should_stop` is true (checked after each validation
epoch and each training batch), so Lightning ends the fit cleanly.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .. import _trial
from ._common import numeric_metrics

try:  # Lightning 2.x package name, then the older one; the SDK does not require either.
    from lightning.pytorch import Callback as _Base  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on what is installed
    try:
        from pytorch_lightning import Callback as _Base  # type: ignore[import-not-found,no-redef]
    except ImportError:
        _Base = object  # type: ignore[assignment,misc]


class TrellisCallback(_Base):  # type: ignore[misc,valid-type]
    def __init__(
        self,
        metrics: Optional[Callable[[Dict[str, float]], Dict[str, float]]] = None,
        report: Callable[..., None] = _trial.report,
        should_stop: Callable[[], bool] = _trial.should_stop,
    ) -> None:
        """``metrics`` may filter or rename what is reported; report/should_stop are for tests."""
        super().__init__()
        self._select = metrics
        self._report = report
        self._should_stop = should_stop

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if getattr(trainer, "sanity_checking", False):
            return
        values = numeric_metrics(getattr(trainer, "callback_metrics", {}) or {})
        if self._select is not None:
            values = self._select(values)
        if values:
            self._report(step=int(trainer.current_epoch) + 1, **values)
        self._honour_stop(trainer)

    def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        self._honour_stop(trainer)

    def _honour_stop(self, trainer: Any) -> None:
        if self._should_stop():
            trainer.should_stop = True
