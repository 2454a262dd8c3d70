"""`trellis.Client`: drive a Trellis coordinator from Python (notebooks, scripts, CI).

    client = trellis.Client("127.0.0.1:50051", token=None, tls_ca=None)
    exp = client.submit("sweep.yaml")            # or a dict
    for event in client.watch(exp.id):           # from the first event; ends with the experiment
        print(event.seq, event.type, event.payload)
    exp = client.wait(exp.id, timeout=3600)
    print(exp.best)

Every unary call has a deadline (`timeout`, seconds); failures are the typed errors of
trellis.errors. The token travels as `authorization: Bearer <token>` metadata, as the CLI sends
it. Requires grpcio and protobuf (dependencies of trellis-sdk).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TypeVar, Union

import grpc
from google.protobuf import json_format, struct_pb2

from ._proto.trellis.v1 import common_pb2, experiment_pb2 as pb
from ._views import (
    AttemptLog,
    Event,
    Experiment,
    MetricRow,
    Trial,
    Worker,
    event_view,
    experiment_view,
    log_view,
    row_view,
    trial_view,
    worker_view,
)
from .errors import DeadlineExceeded, Unavailable, from_rpc_error

__all__ = ["Client"]

_SERVICE = "/trellis.v1.ExperimentService/"
T = TypeVar("T")

SpecLike = Union[Dict[str, Any], str, "os.PathLike[str]"]


class Client:
    """A connection to one coordinator. `address` is host:port (default $TRELLIS_COORDINATOR,
    else 127.0.0.1:50051); `token` defaults to $TRELLIS_TOKEN; `tls_ca` is a PEM file of the CA
    that signed the coordinator's certificate (default $TRELLIS_TLS_CA): given, the channel uses
    TLS. `timeout` is the deadline of each unary call in seconds."""

    def __init__(
        self,
        address: Optional[str] = None,
        token: Optional[str] = None,
        tls_ca: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.address = address or os.environ.get("TRELLIS_COORDINATOR") or "127.0.0.1:50051"
        token = token if token is not None else os.environ.get("TRELLIS_TOKEN")
        tls_ca = tls_ca if tls_ca is not None else os.environ.get("TRELLIS_TLS_CA")
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
        if tls_ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=Path(tls_ca).read_bytes())
            self._channel = grpc.secure_channel(self.address, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(self.address, options=options)

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _unary(self, method: str, request: Any, response_type: Any, timeout: Optional[float] = None) -> Any:
        call = self._channel.unary_unary(
            _SERVICE + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        try:
            return call(request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None

    def _stream(self, method: str, request: Any, response_type: Any, timeout: Optional[float]) -> Iterator[Any]:
        call = self._channel.unary_stream(
            _SERVICE + method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response_type.FromString,
        )
        responses = call(request, timeout=timeout, metadata=self._metadata)
        try:
            for response in responses:
                yield response
        except grpc.RpcError as err:
            raise from_rpc_error(err) from None
        finally:
            responses.cancel()

    def _pages(self, method: str, make: Callable[[str], Any], response_type: Any, items: str) -> Iterator[Any]:
        token = ""
        while True:
            response = self._unary(method, make(token), response_type)
            yield from getattr(response, items)
            token = response.next_page_token
            if not token:
                return

    # ------------------------------------------------------------------ experiments

    def submit(self, spec: SpecLike, *, request_id: Optional[str] = None, no_cache: bool = False) -> Experiment:
        """Submits a spec: a dict (the document), or the path of a YAML/JSON file. A string that
        is not an existing file but holds a newline is taken as the spec's text. The same
        `request_id` returns the experiment the first submit created."""
        request = pb.SubmitExperimentRequest(request_id=request_id or str(uuid.uuid4()), no_cache=no_cache)
        if isinstance(spec, dict):
            document = struct_pb2.Struct()
            document.update(spec)
            request.spec_document.CopyFrom(document)
        elif isinstance(spec, (str, os.PathLike)):
            path = Path(spec)
            if isinstance(spec, str) and "\n" in spec:
                request.spec = spec
            elif path.is_file():
                request.spec = path.read_text(encoding="utf-8")
            else:
                raise FileNotFoundError(f"spec file not found: {spec}")
        else:
            raise TypeError(f"spec: expected a dict or a file path, got {type(spec).__name__}")
        return experiment_view(self._unary("SubmitExperiment", request, pb.SubmitExperimentResponse).experiment)

    def get(self, experiment_id: str) -> Experiment:
        response = self._unary("GetExperiment", pb.GetExperimentRequest(id=experiment_id), pb.GetExperimentResponse)
        return experiment_view(response.experiment)

    def experiments(self, status: Sequence[str] = ()) -> List[Experiment]:
        """Every experiment (optionally with one of the given statuses), newest pages followed."""
        make = lambda token: pb.ListExperimentsRequest(status=list(status), page_token=token)  # noqa: E731
        return [experiment_view(m) for m in self._pages("ListExperiments", make, pb.ListExperimentsResponse, "experiments")]

    def trials(self, experiment_id: str) -> List[Trial]:
        """Every trial of the experiment, by number."""
        make = lambda token: pb.ListTrialsRequest(experiment_id=experiment_id, page_token=token)  # noqa: E731
        return [trial_view(m) for m in self._pages("ListTrials", make, pb.ListTrialsResponse, "trials")]

    def cancel(self, experiment_id: str) -> Experiment:
        response = self._unary(
            "CancelExperiment", pb.CancelExperimentRequest(id=experiment_id), pb.CancelExperimentResponse
        )
        return experiment_view(response.experiment)

    def watch(
        self,
        experiment_id: str,
        from_start: bool = True,
        *,
        from_seq: Optional[int] = None,
        timeout: Optional[float] = None,
    ) -> Iterator[Event]:
        """The experiment's events: from the first (default), from `from_seq`, or only new ones
        (`from_start=False`). Ends after the experiment's terminal state event."""
        request = pb.WatchEventsRequest(experiment_id=experiment_id)
        if from_seq is not None:
            request.from_seq = from_seq
        elif from_start:
            request.from_start = True
        else:
            request.live_only = True
        for message in self._stream("WatchEvents", request, common_pb2.Event, timeout):
            yield event_view(message)

    def wait(self, experiment_id: str, timeout: Optional[float] = None) -> Experiment:
        """Blocks until the experiment has ended (watching its events); returns it. Raises
        DeadlineExceeded after `timeout` seconds. A lost connection is retried."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last_seq = 0
        for retry in range(100):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            try:
                for event in self.watch(experiment_id, from_seq=last_seq + 1, timeout=left):
                    last_seq = event.seq
                experiment = self.get(experiment_id)
                if experiment.done:
                    return experiment
            except DeadlineExceeded:
                break
            except Unavailable:
                time.sleep(min(5.0, 0.2 * 2 ** min(retry, 5)))
        status = self.get(experiment_id).status
        raise DeadlineExceeded(f"experiment {experiment_id} was not finished after {timeout} s (status: {status})")

    def export(self, experiment_id: str, *, as_frame: bool = False, page_size: int = 0) -> Any:
        """Every metric row of the experiment (one per trial, attempt and step), fetched page
        by page. `as_frame=True` returns a pandas DataFrame (columns trial_id, trial_number,
        attempt, step, time_ms, then one per metric); it needs pandas installed."""
        make = lambda token: pb.ExportMetricsRequest(  # noqa: E731
            experiment_id=experiment_id, page_size=page_size, page_token=token
        )
        rows = [row_view(m) for m in self._pages("ExportMetrics", make, pb.ExportMetricsResponse, "rows")]
        if not as_frame:
            return rows
        try:
            import pandas  # type: ignore[import-not-found]
        except ImportError:
            raise ImportError("export(as_frame=True) needs pandas: pip install pandas") from None
        records = [
            {"trial_id": r.trial_id, "trial_number": r.trial_number, "attempt": r.attempt, "step": r.step,
             "time_ms": r.time_ms, **r.values}
            for r in rows
        ]
        return pandas.DataFrame.from_records(records)

    def best(self, experiment_id: str) -> Optional[Trial]:
        """The experiment's best trial so far (None before any trial reported the objective)."""
        best = self.get(experiment_id).best
        if best is None:
            return None
        return next((t for t in self.trials(experiment_id) if t.id == best.trial_id), None)

    def workers(self) -> List[Worker]:
        response = self._unary("ListWorkers", pb.ListWorkersRequest(), pb.ListWorkersResponse)
        return [worker_view(m) for m in response.workers]

    # ------------------------------------------------------------------ logs

    def logs(self, trial_id: str, attempt: int = 0) -> AttemptLog:
        """A trial attempt's program output (attempt 0 = the latest), bounded: head and tail."""
        request = pb.GetAttemptLogRequest(trial_id=trial_id, attempt=attempt)
        return log_view(self._unary("GetAttemptLog", request, pb.GetAttemptLogResponse).log)

    def follow_logs(self, trial_id: str, attempt: int = 0, *, timeout: Optional[float] = None) -> Iterator[str]:
        """The attempt's output lines so far, then new ones as they arrive, until it ends."""
        request = pb.WatchAttemptLogRequest(trial_id=trial_id, attempt=attempt)
        first = True
        for message in self._stream("WatchAttemptLog", request, pb.WatchAttemptLogResponse, timeout):
            if first and message.HasField("snapshot"):
                yield from log_view(message.snapshot).lines
            first = False
            if message.skipped_lines:
                yield f"…[{message.skipped_lines} lines not shown live]"
            yield from message.lines


