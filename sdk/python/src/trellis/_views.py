"""What the client returns: plain dataclasses built from the API's messages (statuses as the
lower-case names the CLI and docs use, Struct fields as dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from google.protobuf import json_format

from ._proto.trellis.v1 import common_pb2


def _status(enum_type: Any, value: int, prefix: str, fallback: str) -> str:
    """`TRIAL_STATUS_SUCCEEDED` -> `succeeded`; the deprecated string when the enum is unset."""
    if value:
        return enum_type.Name(value)[len(prefix) :].lower()
    return fallback


def _struct(message: Any, name: str) -> Dict[str, Any]:
    return json_format.MessageToDict(getattr(message, name)) if message.HasField(name) else {}


@dataclass
class Best:
    trial_id: str
    number: int
    metric: str
    value: float
    params: Dict[str, Any]
    #: With replicates: 95% confidence half-width of the mean, and the number of seeds.
    ci: float = 0.0
    replicates: int = 0


@dataclass
class Experiment:
    id: str
    name: str
    kind: str
    status: str
    owner: str
    created_at_ms: int
    updated_at_ms: int
    trials_created: int
    best: Optional[Best]
    error: str
    #: The stored spec (validated, defaults filled in): submittable again with Client.submit.
    spec: Dict[str, Any]
    stages: Dict[str, Any]

    @property
    def done(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass
class Attempt:
    n: int
    id: str
    worker_id: str
    status: str
    started_at_ms: int
    ended_at_ms: int
    error: str
    failure_kind: str


@dataclass
class Trial:
    id: str
    experiment_id: str
    number: int
    status: str
    params: Dict[str, Any]
    metrics: Dict[str, float]
    attempts: List[Attempt]
    worker_id: str
    info: Dict[str, Any]
    error: str
    seed: int
    last_step: int
    pending_reason: str


@dataclass
class Event:
    """One experiment event; `payload` fields per type are listed in docs/events.md."""

    seq: int
    type: str
    time_ms: int
    experiment_id: str
    trial_number: int
    trial_id: str
    worker_id: str
    stage: str
    payload: Dict[str, Any] = field(default_factory=dict)


@dataclass
class MetricRow:
    trial_id: str
    trial_number: int
    attempt: int
    step: int
    time_ms: int
    values: Dict[str, float]


@dataclass
class Worker:
    id: str
    status: str
    cpus: float
    used_cpus: float
    gpus: List[str]
    free_gpus: List[str]
    memory_bytes: int
    used_memory_bytes: int
    running: int
    runtimes: List[str]
    labels: Dict[str, str]
    last_heartbeat_ms: int
    draining: bool
    version: str


@dataclass
class AttemptLog:
    """A bounded program log: `head` (first lines), then `tail` (last lines); between them
    `omitted_lines` were not kept. `lines` joins them with a marker line where output was omitted."""

    trial_id: str
    attempt: int
    attempt_id: str
    head: List[str]
    tail: List[str]
    omitted_lines: int
    omitted_bytes: int
    total_lines: int
    total_bytes: int
    running: bool
    source: str

    @property
    def lines(self) -> List[str]:
        """Head, a marker line where lines were omitted (as `trellis logs` prints it), tail."""
        middle = [f"…[{self.omitted_lines} lines ({_format_bytes(self.omitted_bytes)}) omitted]"] if self.omitted_lines else []
        return [*self.head, *middle, *self.tail]


def _format_bytes(n: int) -> str:
    """Decimal units, as shared/bounded-log.ts formatBytes: 52428800 -> '52.4 MB'."""
    if n < 1000:
        return f"{n} B"
    value, unit = n / 1000, 0
    units = ["kB", "MB", "GB", "TB"]
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return f"{value:.1f} {units[unit]}"


def experiment_view(m: Any) -> Experiment:
    best = None
    if m.HasField("best") and m.best.trial_id:
        b = m.best
        best = Best(b.trial_id, b.number, b.metric, b.value, _struct(b, "params"), b.ci, b.replicates)
    return Experiment(
        id=m.id,
        name=m.name,
        kind=m.kind,
        status=_status(common_pb2.ExperimentStatus, m.state, "EXPERIMENT_STATUS_", m.status),
        owner=m.owner,
        created_at_ms=m.created_at_ms,
        updated_at_ms=m.updated_at_ms,
        trials_created=m.trials_created,
        best=best,
        error=m.error,
        spec=_struct(m, "spec"),
        stages=_struct(m, "stages"),
    )


def trial_view(m: Any) -> Trial:
    attempts = [
        Attempt(
            n=a.n,
            id=a.id,
            worker_id=a.worker_id,
            status=_status(common_pb2.AttemptStatus, a.state, "ATTEMPT_STATUS_", a.status),
            started_at_ms=a.started_at_ms,
            ended_at_ms=a.ended_at_ms,
            error=a.error,
            failure_kind=a.failure_kind,
        )
        for a in m.attempts
    ]
    return Trial(
        id=m.id,
        experiment_id=m.experiment_id,
        number=m.number,
        status=_status(common_pb2.TrialStatus, m.state, "TRIAL_STATUS_", m.status),
        params=_struct(m, "params"),
        metrics=dict(m.metrics),
        attempts=attempts,
        worker_id=m.worker_id,
        info=_struct(m, "info"),
        error=m.error,
        seed=m.seed,
        last_step=m.last_step,
        pending_reason=m.pending_reason,
    )


def event_view(m: Any) -> Event:
    return Event(
        seq=m.seq,
        type=m.type,
        time_ms=m.time_ms,
        experiment_id=m.experiment_id,
        trial_number=m.trial_number,
        trial_id=m.trial_id,
        worker_id=m.worker_id,
        stage=m.stage,
        payload=_struct(m, "payload"),
    )


def row_view(m: Any) -> MetricRow:
    return MetricRow(m.trial_id, m.trial_number, m.attempt, m.step, m.time_ms, dict(m.values))


def worker_view(m: Any) -> Worker:
    return Worker(
        id=m.id,
        status=_status(common_pb2.WorkerStatus, m.state, "WORKER_STATUS_", "disconnected"),
        cpus=m.slots.cpus,
        used_cpus=m.used_cpus,
        gpus=[g.id for g in m.slots.gpus],
        free_gpus=list(m.free_gpu_ids),
        memory_bytes=m.slots.memory_bytes,
        used_memory_bytes=m.used_memory_bytes,
        running=m.running,
        runtimes=list(m.runtimes),
        labels=dict(m.labels),
        last_heartbeat_ms=m.last_heartbeat_ms,
        draining=m.draining,
        version=m.version,
    )


def log_view(m: Any) -> AttemptLog:
    return AttemptLog(
        trial_id=m.trial_id,
        attempt=m.attempt,
        attempt_id=m.attempt_id,
        head=list(m.head),
        tail=list(m.tail),
        omitted_lines=m.omitted_lines,
        omitted_bytes=m.omitted_bytes,
        total_lines=m.total_lines,
        total_bytes=m.total_bytes,
        running=m.running,
        source=m.source,
    )
