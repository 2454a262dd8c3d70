"""The Lightning and Hugging Face callbacks against minimal fakes of the objects those frameworks
pass to callbacks (trainer / state / control). Neither framework is installed here (torch alone
is ~800 MB); the fakes carry exactly the attributes the callbacks read and write.
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from trellis.callbacks import huggingface, lightning  # noqa: E402


class FakeScalarTensor:
    """What a 0-d torch tensor offers: item() and numel()."""

    def __init__(self, value: float, numel: int = 1) -> None:
        self._value = value
        self._numel = numel

    def item(self) -> float:
        if self._numel != 1:
            raise ValueError("only one element tensors can be converted")
        return self._value

    def numel(self) -> int:
        return self._numel


class Recorder:
    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.stop = False

    def report(self, step: Any = None, **metrics: float) -> None:
        self.calls.append({"step": step, **metrics})

    def should_stop(self) -> bool:
        return self.stop


class LightningCallback(unittest.TestCase):
    def test_reports_each_validation_epoch_but_not_the_sanity_check(self) -> None:
        rec = Recorder()
        cb = lightning.TrellisCallback(report=rec.report, should_stop=rec.should_stop)
        trainer = SimpleNamespace(sanity_checking=True, current_epoch=0, should_stop=False, callback_metrics={"val_loss": 9.0})
        cb.on_validation_epoch_end(trainer, None)
        self.assertEqual(rec.calls, [])
        trainer.sanity_checking = False
        for epoch, loss in enumerate([0.5, 0.25]):
            trainer.current_epoch = epoch
            trainer.callback_metrics = {
                "val_loss": FakeScalarTensor(loss),
                "val_acc": 0.9,
                "hist": FakeScalarTensor(0.0, numel=3),
                "name": "x",
            }
            cb.on_validation_epoch_end(trainer, None)
        self.assertEqual(rec.calls, [{"step": 1, "val_loss": 0.5, "val_acc": 0.9}, {"step": 2, "val_loss": 0.25, "val_acc": 0.9}])
        self.assertFalse(trainer.should_stop)

    def test_sets_trainer_should_stop_once_trellis_asks(self) -> None:
        rec = Recorder()
        cb = lightning.TrellisCallback(report=rec.report, should_stop=rec.should_stop)
        trainer = SimpleNamespace(sanity_checking=False, current_epoch=0, should_stop=False, callback_metrics={})
        cb.on_train_batch_end(trainer, None, None, 0)
        self.assertFalse(trainer.should_stop)
        rec.stop = True
        cb.on_train_batch_end(trainer, None, None, 1)
        self.assertTrue(trainer.should_stop)

    def test_metric_selection(self) -> None:
        rec = Recorder()
        cb = lightning.TrellisCallback(
            metrics=lambda m: {"loss": m["val_loss"]}, report=rec.report, should_stop=rec.should_stop
        )
        trainer = SimpleNamespace(sanity_checking=False, current_epoch=4, should_stop=False, callback_metrics={"val_loss": 0.3, "a": 1.0})
        cb.on_validation_epoch_end(trainer, None)
        self.assertEqual(rec.calls, [{"step": 5, "loss": 0.3}])


class HuggingFaceCallback(unittest.TestCase):
    def test_reports_each_evaluation_with_the_epoch_as_step(self) -> None:
        rec = Recorder()
        cb = huggingface.TrellisCallback(report=rec.report, should_stop=rec.should_stop)
        control = SimpleNamespace(should_training_stop=False)
        state = SimpleNamespace(epoch=1.0, global_step=50)
        returned = cb.on_evaluate(None, state, control, metrics={"eval_loss": 0.4, "epoch": 1.0, "eval_runtime": 2.5})
        self.assertIs(returned, control)
        state = SimpleNamespace(epoch=None, global_step=120)
        cb.on_evaluate(None, state, control, metrics={"eval_loss": 0.3})
        self.assertEqual(rec.calls, [{"step": 1, "eval_loss": 0.4, "eval_runtime": 2.5}, {"step": 120, "eval_loss": 0.3}])
        self.assertFalse(control.should_training_stop)

    def test_sets_should_training_stop_once_trellis_asks(self) -> None:
        rec = Recorder()
        cb = huggingface.TrellisCallback(report=rec.report, should_stop=rec.should_stop)
        control = SimpleNamespace(should_training_stop=False)
        cb.on_step_end(None, SimpleNamespace(epoch=0.5, global_step=3), control)
        self.assertFalse(control.should_training_stop)
        rec.stop = True
        cb.on_step_end(None, SimpleNamespace(epoch=0.6, global_step=4), control)
        self.assertTrue(control.should_training_stop)


if __name__ == "__main__":
    unittest.main()
