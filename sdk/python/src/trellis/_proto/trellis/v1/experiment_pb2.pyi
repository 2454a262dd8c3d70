from google.protobuf import struct_pb2 as _struct_pb2
from trellis._proto.trellis.v1 import common_pb2 as _common_pb2
from trellis._proto.trellis.v1 import worker_pb2 as _worker_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DrainWorkerRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    def __init__(self, worker_id: _Optional[str] = ...) -> None: ...

class DrainWorkerResponse(_message.Message):
    __slots__ = ("running_attempt_ids",)
    RUNNING_ATTEMPT_IDS_FIELD_NUMBER: _ClassVar[int]
    running_attempt_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, running_attempt_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SubmitExperimentRequest(_message.Message):
    __slots__ = ("request_id", "spec", "no_cache", "spec_document")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    SPEC_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    spec: str
    no_cache: bool
    spec_document: _struct_pb2.Struct
    def __init__(self, request_id: _Optional[str] = ..., spec: _Optional[str] = ..., no_cache: bool = ..., spec_document: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SubmitExperimentResponse(_message.Message):
    __slots__ = ("experiment", "created")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    experiment: _common_pb2.Experiment
    created: bool
    def __init__(self, experiment: _Optional[_Union[_common_pb2.Experiment, _Mapping]] = ..., created: bool = ...) -> None: ...

class GetExperimentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetExperimentResponse(_message.Message):
    __slots__ = ("experiment",)
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: _common_pb2.Experiment
    def __init__(self, experiment: _Optional[_Union[_common_pb2.Experiment, _Mapping]] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ("status", "page_size", "page_token", "states", "include_spec")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SPEC_FIELD_NUMBER: _ClassVar[int]
    status: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[_common_pb2.ExperimentStatus]
    include_spec: bool
    def __init__(self, status: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[_common_pb2.ExperimentStatus, str]]] = ..., include_spec: bool = ...) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ("experiments", "next_page_token")
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[_common_pb2.Experiment]
    next_page_token: str
    def __init__(self, experiments: _Optional[_Iterable[_Union[_common_pb2.Experiment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListTrialsRequest(_message.Message):
    __slots__ = ("experiment_id", "page_size", "page_token")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    page_size: int
    page_token: str
    def __init__(self, experiment_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTrialsResponse(_message.Message):
    __slots__ = ("trials", "next_page_token")
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    trials: _containers.RepeatedCompositeFieldContainer[_common_pb2.Trial]
    next_page_token: str
    def __init__(self, trials: _Optional[_Iterable[_Union[_common_pb2.Trial, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelExperimentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelExperimentResponse(_message.Message):
    __slots__ = ("experiment",)
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    experiment: _common_pb2.Experiment
    def __init__(self, experiment: _Optional[_Union[_common_pb2.Experiment, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("experiment_id", "from_seq", "from_start", "live_only")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    FROM_START_FIELD_NUMBER: _ClassVar[int]
    LIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    from_seq: int
    from_start: bool
    live_only: bool
    def __init__(self, experiment_id: _Optional[str] = ..., from_seq: _Optional[int] = ..., from_start: bool = ..., live_only: bool = ...) -> None: ...

class ExportMetricsRequest(_message.Message):
    __slots__ = ("experiment_id", "page_size", "page_token")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    page_size: int
    page_token: str
    def __init__(self, experiment_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class MetricRow(_message.Message):
    __slots__ = ("trial_id", "trial_number", "attempt", "step", "time_ms", "values", "step64")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    STEP64_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    trial_number: int
    attempt: int
    step: int
    time_ms: int
    values: _containers.ScalarMap[str, float]
    step64: int
    def __init__(self, trial_id: _Optional[str] = ..., trial_number: _Optional[int] = ..., attempt: _Optional[int] = ..., step: _Optional[int] = ..., time_ms: _Optional[int] = ..., values: _Optional[_Mapping[str, float]] = ..., step64: _Optional[int] = ...) -> None: ...

class ExportMetricsResponse(_message.Message):
    __slots__ = ("rows", "next_page_token")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[MetricRow]
    next_page_token: str
    def __init__(self, rows: _Optional[_Iterable[_Union[MetricRow, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListWorkersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("id", "state", "slots", "used_cpus", "free_cpus", "used_gpu_ids", "free_gpu_ids", "used_memory_bytes", "free_memory_bytes", "running", "runtimes", "labels", "last_heartbeat_ms", "draining", "version")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    USED_CPUS_FIELD_NUMBER: _ClassVar[int]
    FREE_CPUS_FIELD_NUMBER: _ClassVar[int]
    USED_GPU_IDS_FIELD_NUMBER: _ClassVar[int]
    FREE_GPU_IDS_FIELD_NUMBER: _ClassVar[int]
    USED_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    FREE_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    RUNTIMES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_MS_FIELD_NUMBER: _ClassVar[int]
    DRAINING_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: _common_pb2.WorkerStatus
    slots: _worker_pb2.Slots
    used_cpus: float
    free_cpus: float
    used_gpu_ids: _containers.RepeatedScalarFieldContainer[str]
    free_gpu_ids: _containers.RepeatedScalarFieldContainer[str]
    used_memory_bytes: int
    free_memory_bytes: int
    running: int
    runtimes: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    last_heartbeat_ms: int
    draining: bool
    version: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.WorkerStatus, str]] = ..., slots: _Optional[_Union[_worker_pb2.Slots, _Mapping]] = ..., used_cpus: _Optional[float] = ..., free_cpus: _Optional[float] = ..., used_gpu_ids: _Optional[_Iterable[str]] = ..., free_gpu_ids: _Optional[_Iterable[str]] = ..., used_memory_bytes: _Optional[int] = ..., free_memory_bytes: _Optional[int] = ..., running: _Optional[int] = ..., runtimes: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., last_heartbeat_ms: _Optional[int] = ..., draining: bool = ..., version: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers",)
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[WorkerInfo]
    def __init__(self, workers: _Optional[_Iterable[_Union[WorkerInfo, _Mapping]]] = ...) -> None: ...

class GetAttemptLogRequest(_message.Message):
    __slots__ = ("trial_id", "attempt")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    attempt: int
    def __init__(self, trial_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class AttemptLog(_message.Message):
    __slots__ = ("trial_id", "attempt", "attempt_id", "head", "tail", "omitted_lines", "omitted_bytes", "total_lines", "total_bytes", "running", "source")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    OMITTED_LINES_FIELD_NUMBER: _ClassVar[int]
    OMITTED_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    attempt: int
    attempt_id: str
    head: _containers.RepeatedScalarFieldContainer[str]
    tail: _containers.RepeatedScalarFieldContainer[str]
    omitted_lines: int
    omitted_bytes: int
    total_lines: int
    total_bytes: int
    running: bool
    source: str
    def __init__(self, trial_id: _Optional[str] = ..., attempt: _Optional[int] = ..., attempt_id: _Optional[str] = ..., head: _Optional[_Iterable[str]] = ..., tail: _Optional[_Iterable[str]] = ..., omitted_lines: _Optional[int] = ..., omitted_bytes: _Optional[int] = ..., total_lines: _Optional[int] = ..., total_bytes: _Optional[int] = ..., running: bool = ..., source: _Optional[str] = ...) -> None: ...

class GetAttemptLogResponse(_message.Message):
    __slots__ = ("log",)
    LOG_FIELD_NUMBER: _ClassVar[int]
    log: AttemptLog
    def __init__(self, log: _Optional[_Union[AttemptLog, _Mapping]] = ...) -> None: ...

class WatchAttemptLogRequest(_message.Message):
    __slots__ = ("trial_id", "attempt")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    attempt: int
    def __init__(self, trial_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class WatchAttemptLogResponse(_message.Message):
    __slots__ = ("snapshot", "lines", "skipped_lines", "ended")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_LINES_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    snapshot: AttemptLog
    lines: _containers.RepeatedScalarFieldContainer[str]
    skipped_lines: int
    ended: bool
    def __init__(self, snapshot: _Optional[_Union[AttemptLog, _Mapping]] = ..., lines: _Optional[_Iterable[str]] = ..., skipped_lines: _Optional[int] = ..., ended: bool = ...) -> None: ...
