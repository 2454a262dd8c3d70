"""The in-trial API against the command runtime's contract, in real subprocesses.

Written with unittest so that `pytest` and `python -m unittest` both run it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path
from typing import Dict, Optional

SRC = str(Path(__file__).resolve().parent.parent / "src")


def run_script(code: str, env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_")}
    base["PYTHONPATH"] = SRC + os.pathsep + base.get("PYTHONPATH", "")
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=base, cwd=cwd, capture_output=True, text=True, timeout=60
    )


class InTrialApi(unittest.TestCase):
    def test_params_from_env_over_defaults_and_alone_outside_trellis(self) -> None:
        code = "import json, trellis; print(json.dumps(trellis.params({'lr': 0.1, 'depth': 2})))"
        inside = run_script(code, {"TRELLIS_PARAMS": json.dumps({"lr": 0.01, "opt.name": "adam"})})
        self.assertEqual(inside.returncode, 0, inside.stderr)
        self.assertEqual(json.loads(inside.stdout), {"lr": 0.01, "depth": 2, "opt.name": "adam"})
        alone = run_script(code)
        self.assertEqual(json.loads(alone.stdout), {"lr": 0.1, "depth": 2})
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "p.json"
            path.write_text(json.dumps({"depth": 5}))
            from_file = run_script(code, {"TRELLIS_PARAMS_FILE": str(path)})
            self.assertEqual(json.loads(from_file.stdout), {"lr": 0.1, "depth": 5})
        bad = run_script(code, {"TRELLIS_PARAMS": "[1, 2]"})
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("TRELLIS_PARAMS must hold a JSON object", bad.stderr)

    def test_seed_attempt_and_resume_step(self) -> None:
        code = "import trellis; print(trellis.seed(7), trellis.attempt(), trellis.resume_step())"
        self.assertEqual(run_script(code).stdout.split(), ["7", "1", "None"])
        out = run_script(code, {"TRELLIS_SEED": "2147483647", "TRELLIS_ATTEMPT": "3", "TRELLIS_RESUME_STEP": "4"})
        self.assertEqual(out.stdout.split(), ["2147483647", "3", "4"])
        bad = run_script(code, {"TRELLIS_SEED": "-5"})
        self.assertIn("outside [0, 2**31 - 1]", bad.stderr)

    def test_report_writes_the_nested_json_line_the_runtime_reads(self) -> None:
        code = """
            import math, trellis
            trellis.report(step=1, loss=0.5, acc=1)
            trellis.report(val_loss=0.25)
            trellis.report(step=2, loss=math.nan)
            trellis.report_final(test_accuracy=0.9)
            trellis.checkpoint_saved(2)
            trellis.outputs(model="m.bin", sizes=[1, 2])
        """
        out = run_script(code)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(json.loads(lines[0]), {"metrics": {"loss": 0.5, "acc": 1.0}, "step": 1})
        self.assertEqual(json.loads(lines[1]), {"metrics": {"val_loss": 0.25}})
        self.assertEqual(lines[2], '{"metrics":{"loss":NaN},"step":2}')  # Python's NaN token, which the runtime reads
        self.assertEqual(json.loads(lines[3]), {"final": True, "metrics": {"test_accuracy": 0.9}})
        self.assertEqual(json.loads(lines[4]), {"checkpoint": True, "step": 2})
        self.assertEqual(json.loads(lines[5]), {"outputs": {"model": "m.bin", "sizes": [1, 2]}})

    def test_report_refuses_what_is_not_a_metric(self) -> None:
        for call, message in [
            ("trellis.report(step=1)", "needs at least one metric"),
            ("trellis.report(step=1, name='x')", "metric 'name': expected a number, got str"),
            ("trellis.report(step=1, ok=True)", "a bool is not a metric value"),
            ("trellis.report(step=-1, loss=1)", "non-negative integer"),
            ("trellis.outputs(f=object())", "not JSON serializable"),
        ]:
            out = run_script("import trellis; " + call)
            self.assertNotEqual(out.returncode, 0, call)
            self.assertIn(message, out.stderr, call)

    def test_checkpoint_dir_inside_and_outside(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "ckpt"
            out = run_script("import trellis; print(trellis.checkpoint_dir())", {"TRELLIS_CHECKPOINT_DIR": str(target)})
            self.assertEqual(out.stdout.strip(), str(target))
            self.assertTrue(target.is_dir())
            alone = run_script("import trellis; print(trellis.checkpoint_dir())", cwd=tmp)
            self.assertEqual(alone.stdout.strip(), "trellis-checkpoint")
            self.assertTrue((Path(tmp) / "trellis-checkpoint").is_dir())

    def test_should_stop_turns_sigterm_into_a_flag_the_loop_polls(self) -> None:
        code = """
            import sys, time, trellis
            assert trellis.should_stop() is False
            print("ready", flush=True)
            deadline = time.monotonic() + 30
            while not trellis.should_stop():
                if time.monotonic() > deadline:
                    sys.exit("no stop request within 30 s")
                time.sleep(0.01)
            trellis.report(step=3, loss=0.1)
            print("stopped cleanly", flush=True)
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_")}
        env.update({"PYTHONPATH": SRC, "TRELLIS_TRIAL_ID": "t-1"})
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            self.assertEqual(child.stdout.readline().strip(), "ready")
            child.send_signal(signal.SIGTERM)
            rest = child.stdout.read()
            self.assertEqual(child.wait(timeout=30), 0)
        finally:
            if child.poll() is None:
                child.kill()
        self.assertIn("stopped cleanly", rest)
        self.assertIn('{"metrics":{"loss":0.1},"step":3}', rest)

    def test_outside_trellis_sigterm_is_left_alone(self) -> None:
        code = """
            import os, signal, trellis
            assert trellis.should_stop() is False
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "no handler outside Trellis"
            trellis.request_stop()
            assert trellis.should_stop() is True
            print("ok")
        """
        out = run_script(code)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "ok")


if __name__ == "__main__":
    unittest.main()
