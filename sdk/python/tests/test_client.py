"""trellis.Client without a coordinator: error mapping, spec arguments, views of messages.
(The client against a real coordinator: test/fixtures/python/heldout_client.py, run by npm test.)"""

import importlib.util
import tempfile
import unittest
from pathlib import Path

import trellis
from trellis.errors import from_rpc_error

HAS_GRPC = importlib.util.find_spec("grpc") is not None


class _Code:
    def __init__(self, name):
        self.name = name


class _RpcError:
    def __init__(self, code, details):
        self._code, self._details = _Code(code), details

    def code(self):
        return self._code

    def details(self):
        return self._details


class ErrorsTest(unittest.TestCase):
    def test_each_status_maps_to_its_exception(self):
        cases = {
            "INVALID_ARGUMENT": trellis.InvalidSpec,
            "NOT_FOUND": trellis.NotFound,
            "FAILED_PRECONDITION": trellis.FailedPrecondition,
            "PERMISSION_DENIED": trellis.PermissionDenied,
            "UNAUTHENTICATED": trellis.Unauthenticated,
            "UNAVAILABLE": trellis.Unavailable,
            "DEADLINE_EXCEEDED": trellis.DeadlineExceeded,
        }
        for code, cls in cases.items():
            err = from_rpc_error(_RpcError(code, f"because {code}"))
            self.assertIs(type(err), cls)
            self.assertIsInstance(err, trellis.TrellisError)
            self.assertEqual((err.code, err.details, str(err)), (code, f"because {code}", f"because {code}"))
        other = from_rpc_error(_RpcError("INTERNAL", "boom"))
        self.assertIs(type(other), trellis.TrellisError)
        self.assertEqual(other.code, "INTERNAL")

    def test_invalid_spec_names_its_fields(self):
        err = from_rpc_error(
            _RpcError("INVALID_ARGUMENT", "budget.trials: must be >= 1\nsearch.space.lr[0]: not a number\nno field here")
        )
        self.assertEqual(err.field, "budget.trials")
        self.assertEqual(
            err.issues,
            [("budget.trials", "must be >= 1"), ("search.space.lr[0]", "not a number"), ("", "no field here")],
        )


@unittest.skipUnless(HAS_GRPC, "grpcio is not installed (pip install ./sdk/python installs it)")
class ClientTest(unittest.TestCase):
    def test_submit_refuses_what_is_not_a_spec(self):
        client = trellis.Client("127.0.0.1:1", timeout=1)
        with self.assertRaises(FileNotFoundError):
            client.submit("no-such-spec.yaml")
        with self.assertRaises(TypeError):
            client.submit(42)  # type: ignore[arg-type]
        client.close()

    def test_an_unreachable_coordinator_is_unavailable(self):
        with trellis.Client("127.0.0.1:1", timeout=2) as client:
            with tempfile.TemporaryDirectory() as tmp:
                spec = Path(tmp) / "spec.yaml"
                spec.write_text("apiVersion: trellis/v1\nkind: Sweep\nname: x\n")
                with self.assertRaises(trellis.Unavailable):
                    client.submit(spec)
            with self.assertRaises(trellis.Unavailable):
                client.get("x")

    def test_views_of_messages(self):
        from google.protobuf import struct_pb2

        from trellis._proto.trellis.v1 import common_pb2, experiment_pb2
        from trellis._views import experiment_view, log_view, trial_view

        params = struct_pb2.Struct()
        params.update({"lr": 0.3, "opt.name": "adam"})
        trial = common_pb2.Trial(id="t1", number=2, state=common_pb2.TRIAL_STATUS_SUCCEEDED, status="pending")
        trial.params.CopyFrom(params)
        trial.metrics["loss"] = 0.5
        trial.attempts.add(n=1, id="a1", state=common_pb2.ATTEMPT_STATUS_HANDED_BACK)
        view = trial_view(trial)
        self.assertEqual(view.status, "succeeded", "the enum wins over the deprecated string")
        self.assertEqual(view.params, {"lr": 0.3, "opt.name": "adam"})
        self.assertEqual(view.metrics, {"loss": 0.5})
        self.assertEqual(view.attempts[0].status, "handed_back")
        old = trial_view(common_pb2.Trial(id="t2", status="running"))
        self.assertEqual(old.status, "running", "a coordinator without enums: the string")

        exp = common_pb2.Experiment(id="e", state=common_pb2.EXPERIMENT_STATUS_CANCELLED)
        self.assertTrue(experiment_view(exp).done)
        self.assertIsNone(experiment_view(exp).best)

        log = experiment_pb2.AttemptLog(head=["a", "b"], tail=["z"], omitted_lines=7, omitted_bytes=7_500)
        self.assertEqual(log_view(log).lines, ["a", "b", "…[7 lines (7.5 kB) omitted]", "z"])
        self.assertEqual(log_view(experiment_pb2.AttemptLog(head=["only"])).lines, ["only"])


if __name__ == "__main__":
    unittest.main()
