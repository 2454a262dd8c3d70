from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Gpu(_message.Message):
    __slots__ = ("id", "name", "memory_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    memory_bytes: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class Slots(_message.Message):
    __slots__ = ("cpus", "gpus", "memory_bytes")
    CPUS_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    cpus: float
    gpus: _containers.RepeatedCompositeFieldContainer[Gpu]
    memory_bytes: int
    def __init__(self, cpus: _Optional[float] = ..., gpus: _Optional[_Iterable[_Union[Gpu, _Mapping]]] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("worker_id", "slots", "labels", "runtimes", "version", "running_attempt_ids", "attempt_tokens", "prefetch")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AttemptTokensEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    RUNTIMES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RUNNING_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PREFETCH_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    slots: Slots
    labels: _containers.ScalarMap[str, str]
    runtimes: _containers.RepeatedScalarFieldContainer[str]
    version: str
    running_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    attempt_tokens: _containers.ScalarMap[str, str]
    prefetch: bool
    def __init__(self, worker_id: _Optional[str] = ..., slots: _Optional[_Union[Slots, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., runtimes: _Optional[_Iterable[str]] = ..., version: _Optional[str] = ..., running_attempt_ids: _Optional[_Iterable[str]] = ..., attempt_tokens: _Optional[_Mapping[str, str]] = ..., prefetch: bool = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("running_attempt_ids", "gpu_memory")
    RUNNING_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_FIELD_NUMBER: _ClassVar[int]
    running_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    gpu_memory: _containers.RepeatedCompositeFieldContainer[GpuMemory]
    def __init__(self, running_attempt_ids: _Optional[_Iterable[str]] = ..., gpu_memory: _Optional[_Iterable[_Union[GpuMemory, _Mapping]]] = ...) -> None: ...

class GpuMemory(_message.Message):
    __slots__ = ("id", "total_bytes", "used_bytes")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    total_bytes: int
    used_bytes: int
    def __init__(self, id: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("attempt_id", "step", "metrics", "step64", "step_refused", "attempt_token")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    STEP64_FIELD_NUMBER: _ClassVar[int]
    STEP_REFUSED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    step: int
    metrics: _containers.ScalarMap[str, float]
    step64: int
    step_refused: str
    attempt_token: str
    def __init__(self, attempt_id: _Optional[str] = ..., step: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., step64: _Optional[int] = ..., step_refused: _Optional[str] = ..., attempt_token: _Optional[str] = ...) -> None: ...

class AttemptResult(_message.Message):
    __slots__ = ("attempt_id", "metrics", "info_json", "attempt_token", "peak_gpu_memory_bytes")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PEAK_GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    metrics: _containers.ScalarMap[str, float]
    info_json: str
    attempt_token: str
    peak_gpu_memory_bytes: int
    def __init__(self, attempt_id: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., info_json: _Optional[str] = ..., attempt_token: _Optional[str] = ..., peak_gpu_memory_bytes: _Optional[int] = ...) -> None: ...

class AttemptFailure(_message.Message):
    __slots__ = ("attempt_id", "error", "retryable", "kind", "evidence", "attempt_token", "peak_gpu_memory_bytes")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PEAK_GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    error: str
    retryable: bool
    kind: str
    evidence: str
    attempt_token: str
    peak_gpu_memory_bytes: int
    def __init__(self, attempt_id: _Optional[str] = ..., error: _Optional[str] = ..., retryable: bool = ..., kind: _Optional[str] = ..., evidence: _Optional[str] = ..., attempt_token: _Optional[str] = ..., peak_gpu_memory_bytes: _Optional[int] = ...) -> None: ...

class AttemptStopped(_message.Message):
    __slots__ = ("attempt_id", "reason", "attempt_token")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    reason: str
    attempt_token: str
    def __init__(self, attempt_id: _Optional[str] = ..., reason: _Optional[str] = ..., attempt_token: _Optional[str] = ...) -> None: ...

class CheckpointSaved(_message.Message):
    __slots__ = ("attempt_id", "artifact_id", "step", "step64", "attempt_token")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    STEP64_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    artifact_id: str
    step: int
    step64: int
    attempt_token: str
    def __init__(self, attempt_id: _Optional[str] = ..., artifact_id: _Optional[str] = ..., step: _Optional[int] = ..., step64: _Optional[int] = ..., attempt_token: _Optional[str] = ...) -> None: ...

class WorkerMessage(_message.Message):
    __slots__ = ("hello", "heartbeat", "progress", "result", "failure", "stopped", "checkpoint", "draining", "output")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    heartbeat: Heartbeat
    progress: Progress
    result: AttemptResult
    failure: AttemptFailure
    stopped: AttemptStopped
    checkpoint: CheckpointSaved
    draining: Draining
    output: AttemptOutput
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., result: _Optional[_Union[AttemptResult, _Mapping]] = ..., failure: _Optional[_Union[AttemptFailure, _Mapping]] = ..., stopped: _Optional[_Union[AttemptStopped, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointSaved, _Mapping]] = ..., draining: _Optional[_Union[Draining, _Mapping]] = ..., output: _Optional[_Union[AttemptOutput, _Mapping]] = ...) -> None: ...

class AttemptOutput(_message.Message):
    __slots__ = ("attempt_id", "lines", "skipped_lines", "final", "head", "tail", "omitted_lines", "omitted_bytes", "total_lines", "total_bytes")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_LINES_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    OMITTED_LINES_FIELD_NUMBER: _ClassVar[int]
    OMITTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    lines: _containers.RepeatedScalarFieldContainer[str]
    skipped_lines: int
    final: bool
    head: _containers.RepeatedScalarFieldContainer[str]
    tail: _containers.RepeatedScalarFieldContainer[str]
    omitted_lines: int
    omitted_bytes: int
    total_lines: int
    total_bytes: int
    def __init__(self, attempt_id: _Optional[str] = ..., lines: _Optional[_Iterable[str]] = ..., skipped_lines: _Optional[int] = ..., final: bool = ..., head: _Optional[_Iterable[str]] = ..., tail: _Optional[_Iterable[str]] = ..., omitted_lines: _Optional[int] = ..., omitted_bytes: _Optional[int] = ..., total_lines: _Optional[int] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class Draining(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("lease_ms", "heartbeat_ms")
    LEASE_MS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    lease_ms: int
    heartbeat_ms: int
    def __init__(self, lease_ms: _Optional[int] = ..., heartbeat_ms: _Optional[int] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("attempt_id", "experiment_id", "trial_id", "trial_number", "attempt", "runtime", "config_json", "params_json", "seed", "gpu_ids", "cpus", "checkpoint_artifact_id", "checkpoint_step", "checkpoint_step64", "attempt_token", "gpu_memory_bytes", "after_attempt_id")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    GPU_IDS_FIELD_NUMBER: _ClassVar[int]
    CPUS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_STEP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_STEP64_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AFTER_ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    experiment_id: str
    trial_id: str
    trial_number: int
    attempt: int
    runtime: str
    config_json: str
    params_json: str
    seed: int
    gpu_ids: _containers.RepeatedScalarFieldContainer[str]
    cpus: float
    checkpoint_artifact_id: str
    checkpoint_step: int
    checkpoint_step64: int
    attempt_token: str
    gpu_memory_bytes: int
    after_attempt_id: str
    def __init__(self, attempt_id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., trial_id: _Optional[str] = ..., trial_number: _Optional[int] = ..., attempt: _Optional[int] = ..., runtime: _Optional[str] = ..., config_json: _Optional[str] = ..., params_json: _Optional[str] = ..., seed: _Optional[int] = ..., gpu_ids: _Optional[_Iterable[str]] = ..., cpus: _Optional[float] = ..., checkpoint_artifact_id: _Optional[str] = ..., checkpoint_step: _Optional[int] = ..., checkpoint_step64: _Optional[int] = ..., attempt_token: _Optional[str] = ..., gpu_memory_bytes: _Optional[int] = ..., after_attempt_id: _Optional[str] = ...) -> None: ...

class Stop(_message.Message):
    __slots__ = ("attempt_id", "reason", "attempt_ids")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    reason: str
    attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, attempt_id: _Optional[str] = ..., reason: _Optional[str] = ..., attempt_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class CoordinatorMessage(_message.Message):
    __slots__ = ("welcome", "assign", "stop", "drain")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    ASSIGN_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    welcome: Welcome
    assign: Assignment
    stop: Stop
    drain: Drain
    def __init__(self, welcome: _Optional[_Union[Welcome, _Mapping]] = ..., assign: _Optional[_Union[Assignment, _Mapping]] = ..., stop: _Optional[_Union[Stop, _Mapping]] = ..., drain: _Optional[_Union[Drain, _Mapping]] = ...) -> None: ...

class PutArtifactRequest(_message.Message):
    __slots__ = ("attempt_id", "kind", "step", "data", "step64", "attempt_token")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    STEP64_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    kind: str
    step: int
    data: bytes
    step64: int
    attempt_token: str
    def __init__(self, attempt_id: _Optional[str] = ..., kind: _Optional[str] = ..., step: _Optional[int] = ..., data: _Optional[bytes] = ..., step64: _Optional[int] = ..., attempt_token: _Optional[str] = ...) -> None: ...

class PutArtifactResponse(_message.Message):
    __slots__ = ("artifact_id",)
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    def __init__(self, artifact_id: _Optional[str] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("artifact_id", "attempt_id", "attempt_token")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    attempt_id: str
    attempt_token: str
    def __init__(self, artifact_id: _Optional[str] = ..., attempt_id: _Optional[str] = ..., attempt_token: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("data", "kind")
    DATA_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    kind: str
    def __init__(self, data: _Optional[bytes] = ..., kind: _Optional[str] = ...) -> None: ...

class ArtifactUploadHeader(_message.Message):
    __slots__ = ("attempt_id", "attempt_token", "kind", "step", "upload_id", "total_size", "sha256", "offset")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    attempt_token: str
    kind: str
    step: int
    upload_id: str
    total_size: int
    sha256: str
    offset: int
    def __init__(self, attempt_id: _Optional[str] = ..., attempt_token: _Optional[str] = ..., kind: _Optional[str] = ..., step: _Optional[int] = ..., upload_id: _Optional[str] = ..., total_size: _Optional[int] = ..., sha256: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class PutArtifactStreamRequest(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactUploadHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactUploadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...

class GetArtifactUploadStatusRequest(_message.Message):
    __slots__ = ("attempt_id", "attempt_token", "upload_id")
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    attempt_id: str
    attempt_token: str
    upload_id: str
    def __init__(self, attempt_id: _Optional[str] = ..., attempt_token: _Optional[str] = ..., upload_id: _Optional[str] = ...) -> None: ...

class GetArtifactUploadStatusResponse(_message.Message):
    __slots__ = ("received_bytes", "total_size", "artifact_id")
    RECEIVED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    received_bytes: int
    total_size: int
    artifact_id: str
    def __init__(self, received_bytes: _Optional[int] = ..., total_size: _Optional[int] = ..., artifact_id: _Optional[str] = ...) -> None: ...

class GetArtifactStreamRequest(_message.Message):
    __slots__ = ("artifact_id", "attempt_id", "attempt_token", "offset")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    artifact_id: str
    attempt_id: str
    attempt_token: str
    offset: int
    def __init__(self, artifact_id: _Optional[str] = ..., attempt_id: _Optional[str] = ..., attempt_token: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class ArtifactDownloadHeader(_message.Message):
    __slots__ = ("kind", "size", "sha256", "offset")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    kind: str
    size: int
    sha256: str
    offset: int
    def __init__(self, kind: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., offset: _Optional[int] = ...) -> None: ...

class GetArtifactStreamResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ArtifactDownloadHeader
    chunk: bytes
    def __init__(self, header: _Optional[_Union[ArtifactDownloadHeader, _Mapping]] = ..., chunk: _Optional[bytes] = ...) -> None: ...
