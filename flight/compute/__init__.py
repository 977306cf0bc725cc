"""The AI task executor (``flight/compute``): jobs, admission, EDF/FIFO scheduling under
power, thermal and deadline limits, checkpointed and redundant execution on the accelerator
HAL, results in NV storage with CRC-32C, and the Earth-observation workload.

Entry point for the node: :func:`install` (``[compute]`` section). See the modules:
:mod:`~flight.compute._executor` (the component, its commands, telemetry and TM),
:mod:`~flight.compute._policy` (scheduling and admission), :mod:`~flight.compute._store`
(NV records), :mod:`~flight.compute._offload` (the job ledger, status bundles, the
offload cost model and protocol), :mod:`~flight.compute._redundancy`, :mod:`~flight.compute._eo` (scenes, cloud
mask, detector and their NumPy references) and :mod:`~flight.compute._workload`.
"""

from flight.compute._eo import (
    Detection,
    DetectorWeights,
    Head,
    ModelStore,
    cloud_mask,
    cloud_mask_ref,
    conv2d,
    conv2d_ref,
    detector_weights,
    find_detections,
    process_tiles,
    process_tiles_ref,
    tile_ops,
)
from flight.compute._executor import Admission, ComputeExecutor, ExecutorConfig, encode_report
from flight.compute._install import (
    INSTALL_KEYS,
    ComputeApp,
    ComputeConfig,
    install,
    parse_config,
)
from flight.compute._job import (
    Criticality,
    Job,
    JobKind,
    JobRequest,
    JobState,
    Progress,
    RejectReason,
)
from flight.compute._offload import (
    Candidate,
    JobLedger,
    NodeStatus,
    OffloadConfig,
    OffloadManager,
    Outcome,
    RemoteRequest,
    SiteChoice,
    choose_site,
    decode_request,
    decode_status,
    encode_request,
    encode_status,
    remote_finish_s,
)
from flight.compute._policy import (
    EnergyBucket,
    Limits,
    Policy,
    choose_mode,
    edf_admit,
    fifo_admit,
    order,
)
from flight.compute._redundancy import compare, pack_words, unpack_words, vote
from flight.compute._store import (
    RecordError,
    ResultRecord,
    ResultStore,
    decode_checkpoint,
    decode_result,
    encode_checkpoint,
    encode_result,
)
from flight.compute._workload import (
    DEFAULT_CLASSES,
    JobClass,
    WorkloadConfig,
    WorkloadGenerator,
)

__all__ = [
    "DEFAULT_CLASSES",
    "INSTALL_KEYS",
    "Admission",
    "Candidate",
    "ComputeApp",
    "ComputeConfig",
    "ComputeExecutor",
    "Config",
    "Criticality",
    "Detection",
    "DetectorWeights",
    "EnergyBucket",
    "ExecutorConfig",
    "Head",
    "Job",
    "JobClass",
    "JobKind",
    "JobLedger",
    "JobRequest",
    "JobState",
    "Limits",
    "ModelStore",
    "NodeStatus",
    "OffloadConfig",
    "OffloadManager",
    "Outcome",
    "Policy",
    "Progress",
    "RecordError",
    "RejectReason",
    "RemoteRequest",
    "ResultRecord",
    "ResultStore",
    "SiteChoice",
    "WorkloadConfig",
    "WorkloadGenerator",
    "choose_mode",
    "choose_site",
    "cloud_mask",
    "cloud_mask_ref",
    "compare",
    "conv2d",
    "conv2d_ref",
    "decode_checkpoint",
    "decode_request",
    "decode_result",
    "decode_status",
    "detector_weights",
    "edf_admit",
    "encode_checkpoint",
    "encode_report",
    "encode_request",
    "encode_result",
    "encode_status",
    "fifo_admit",
    "find_detections",
    "install",
    "order",
    "pack_words",
    "parse_config",
    "process_tiles",
    "process_tiles_ref",
    "remote_finish_s",
    "tile_ops",
    "unpack_words",
    "vote",
]

#: This application's configuration schema (the ``[compute]`` section).
Config = ComputeConfig
