from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExperimentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPERIMENT_STATUS_UNSPECIFIED: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_PENDING: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_RUNNING: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_SUCCEEDED: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_FAILED: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_CANCELLED: _ClassVar[ExperimentStatus]

class TrialStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRIAL_STATUS_UNSPECIFIED: _ClassVar[TrialStatus]
    TRIAL_STATUS_PENDING: _ClassVar[TrialStatus]
    TRIAL_STATUS_RUNNING: _ClassVar[TrialStatus]
    TRIAL_STATUS_SUCCEEDED: _ClassVar[TrialStatus]
    TRIAL_STATUS_FAILED: _ClassVar[TrialStatus]
    TRIAL_STATUS_PRUNED: _ClassVar[TrialStatus]
    TRIAL_STATUS_CANCELLED: _ClassVar[TrialStatus]

class AttemptStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTEMPT_STATUS_UNSPECIFIED: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_RUNNING: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_SUCCEEDED: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_FAILED: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_LOST: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_HANDED_BACK: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_CANCELLED: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_PRUNED: _ClassVar[AttemptStatus]
    ATTEMPT_STATUS_PREEMPTED: _ClassVar[AttemptStatus]

class WorkerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKER_STATUS_UNSPECIFIED: _ClassVar[WorkerStatus]
    WORKER_STATUS_CONNECTED: _ClassVar[WorkerStatus]
    WORKER_STATUS_DRAINING: _ClassVar[WorkerStatus]
    WORKER_STATUS_DISCONNECTED: _ClassVar[WorkerStatus]
EXPERIMENT_STATUS_UNSPECIFIED: ExperimentStatus
EXPERIMENT_STATUS_PENDING: ExperimentStatus
EXPERIMENT_STATUS_RUNNING: ExperimentStatus
EXPERIMENT_STATUS_SUCCEEDED: ExperimentStatus
EXPERIMENT_STATUS_FAILED: ExperimentStatus
EXPERIMENT_STATUS_CANCELLED: ExperimentStatus
TRIAL_STATUS_UNSPECIFIED: TrialStatus
TRIAL_STATUS_PENDING: TrialStatus
TRIAL_STATUS_RUNNING: TrialStatus
TRIAL_STATUS_SUCCEEDED: TrialStatus
TRIAL_STATUS_FAILED: TrialStatus
TRIAL_STATUS_PRUNED: TrialStatus
TRIAL_STATUS_CANCELLED: TrialStatus
ATTEMPT_STATUS_UNSPECIFIED: AttemptStatus
ATTEMPT_STATUS_RUNNING: AttemptStatus
ATTEMPT_STATUS_SUCCEEDED: AttemptStatus
ATTEMPT_STATUS_FAILED: AttemptStatus
ATTEMPT_STATUS_LOST: AttemptStatus
ATTEMPT_STATUS_HANDED_BACK: AttemptStatus
ATTEMPT_STATUS_CANCELLED: AttemptStatus
ATTEMPT_STATUS_PRUNED: AttemptStatus
ATTEMPT_STATUS_PREEMPTED: AttemptStatus
WORKER_STATUS_UNSPECIFIED: WorkerStatus
WORKER_STATUS_CONNECTED: WorkerStatus
WORKER_STATUS_DRAINING: WorkerStatus
WORKER_STATUS_DISCONNECTED: WorkerStatus

class Best(_message.Message):
    __slots__ = ("trial_id", "number", "params_json", "metric", "value", "ci", "replicates", "params")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    REPLICATES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    number: int
    params_json: str
    metric: str
    value: float
    ci: float
    replicates: int
    params: _struct_pb2.Struct
    def __init__(self, trial_id: _Optional[str] = ..., number: _Optional[int] = ..., params_json: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., ci: _Optional[float] = ..., replicates: _Optional[int] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ParetoPoint(_message.Message):
    __slots__ = ("trial_id", "number", "params", "values", "ci", "replicates")
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    CI_FIELD_NUMBER: _ClassVar[int]
    REPLICATES_FIELD_NUMBER: _ClassVar[int]
    trial_id: str
    number: int
    params: _struct_pb2.Struct
    values: _containers.RepeatedScalarFieldContainer[float]
    ci: _containers.RepeatedScalarFieldContainer[float]
    replicates: int
    def __init__(self, trial_id: _Optional[str] = ..., number: _Optional[int] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., values: _Optional[_Iterable[float]] = ..., ci: _Optional[_Iterable[float]] = ..., replicates: _Optional[int] = ...) -> None: ...

class ParetoFront(_message.Message):
    __slots__ = ("metrics", "modes", "points", "reference", "reference_source", "hypervolume", "configurations", "thinned")
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    HYPERVOLUME_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    THINNED_FIELD_NUMBER: _ClassVar[int]
    metrics: _containers.RepeatedScalarFieldContainer[str]
    modes: _containers.RepeatedScalarFieldContainer[str]
    points: _containers.RepeatedCompositeFieldContainer[ParetoPoint]
    reference: _containers.RepeatedScalarFieldContainer[float]
    reference_source: str
    hypervolume: float
    configurations: int
    thinned: int
    def __init__(self, metrics: _Optional[_Iterable[str]] = ..., modes: _Optional[_Iterable[str]] = ..., points: _Optional[_Iterable[_Union[ParetoPoint, _Mapping]]] = ..., reference: _Optional[_Iterable[float]] = ..., reference_source: _Optional[str] = ..., hypervolume: _Optional[float] = ..., configurations: _Optional[int] = ..., thinned: _Optional[int] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ("id", "name", "kind", "status", "spec_json", "created_at_ms", "updated_at_ms", "trials_created", "best", "error", "stages_json", "owner", "spec", "stages", "state", "pareto")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_CREATED_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STAGES_JSON_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARETO_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: str
    status: str
    spec_json: str
    created_at_ms: int
    updated_at_ms: int
    trials_created: int
    best: Best
    error: str
    stages_json: str
    owner: str
    spec: _struct_pb2.Struct
    stages: _struct_pb2.Struct
    state: ExperimentStatus
    pareto: ParetoFront
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., spec_json: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ..., trials_created: _Optional[int] = ..., best: _Optional[_Union[Best, _Mapping]] = ..., error: _Optional[str] = ..., stages_json: _Optional[str] = ..., owner: _Optional[str] = ..., spec: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., stages: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., state: _Optional[_Union[ExperimentStatus, str]] = ..., pareto: _Optional[_Union[ParetoFront, _Mapping]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("n", "id", "worker_id", "status", "started_at_ms", "ended_at_ms", "error", "failure_kind", "state", "failure_evidence")
    N_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILURE_KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    n: int
    id: str
    worker_id: str
    status: str
    started_at_ms: int
    ended_at_ms: int
    error: str
    failure_kind: str
    state: AttemptStatus
    failure_evidence: str
    def __init__(self, n: _Optional[int] = ..., id: _Optional[str] = ..., worker_id: _Optional[str] = ..., status: _Optional[str] = ..., started_at_ms: _Optional[int] = ..., ended_at_ms: _Optional[int] = ..., error: _Optional[str] = ..., failure_kind: _Optional[str] = ..., state: _Optional[_Union[AttemptStatus, str]] = ..., failure_evidence: _Optional[str] = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ("id", "experiment_id", "number", "status", "params_json", "metrics", "attempts", "worker_id", "info_json", "error", "seed", "last_step", "lineage_json", "state", "params", "info", "lineage", "pending_reason", "last_step64", "step_warnings", "step_warning")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    INFO_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_JSON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    LINEAGE_FIELD_NUMBER: _ClassVar[int]
    PENDING_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_STEP64_FIELD_NUMBER: _ClassVar[int]
    STEP_WARNINGS_FIELD_NUMBER: _ClassVar[int]
    STEP_WARNING_FIELD_NUMBER: _ClassVar[int]
    id: str
    experiment_id: str
    number: int
    status: str
    params_json: str
    metrics: _containers.ScalarMap[str, float]
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    worker_id: str
    info_json: str
    error: str
    seed: int
    last_step: int
    lineage_json: str
    state: TrialStatus
    params: _struct_pb2.Struct
    info: _struct_pb2.Struct
    lineage: _struct_pb2.ListValue
    pending_reason: str
    last_step64: int
    step_warnings: int
    step_warning: str
    def __init__(self, id: _Optional[str] = ..., experiment_id: _Optional[str] = ..., number: _Optional[int] = ..., status: _Optional[str] = ..., params_json: _Optional[str] = ..., metrics: _Optional[_Mapping[str, float]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., worker_id: _Optional[str] = ..., info_json: _Optional[str] = ..., error: _Optional[str] = ..., seed: _Optional[int] = ..., last_step: _Optional[int] = ..., lineage_json: _Optional[str] = ..., state: _Optional[_Union[TrialStatus, str]] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., info: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., lineage: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ..., pending_reason: _Optional[str] = ..., last_step64: _Optional[int] = ..., step_warnings: _Optional[int] = ..., step_warning: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("seq", "type", "time_ms", "experiment_id", "trial_number", "trial_id", "worker_id", "stage", "payload_json", "payload")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRIAL_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_JSON_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    seq: int
    type: str
    time_ms: int
    experiment_id: str
    trial_number: int
    trial_id: str
    worker_id: str
    stage: str
    payload_json: str
    payload: _struct_pb2.Struct
    def __init__(self, seq: _Optional[int] = ..., type: _Optional[str] = ..., time_ms: _Optional[int] = ..., experiment_id: _Optional[str] = ..., trial_number: _Optional[int] = ..., trial_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., stage: _Optional[str] = ..., payload_json: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
