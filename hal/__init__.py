"""Hardware abstraction layer: device interfaces, readings, errors and the backend registry.

One module per device family, each defining runtime-checkable Protocols and frozen readings:

- :mod:`hal.sensors` GNSS receiver, gyro/IMU, star tracker, sun sensor, temperature channels
- :mod:`hal.thermal` heater, variable-emissivity radiator
- :mod:`hal.power` solar array, battery, PDU
- :mod:`hal.propulsion` electric thruster
- :mod:`hal.laser` laser terminal (PAT states, frames) and the Gaussian-beam link budget
- :mod:`hal.accelerator` AI accelerator (jobs, power modes, accounting)
- :mod:`hal.platform` watchdog, non-volatile storage
- :mod:`hal.attitude` attitude control unit (pointing modes, slews, reaction wheels)

Backends (``sim``, later ``hil`` and ``linux``) are opened by name through
:mod:`hal.registry`; this package never imports a backend. :mod:`hal.testing` holds the
conformance kit every backend must pass.
"""

from hal._common import Device, Family, Quat, Reading, Vec3
from hal.accelerator import (
    STANDARD_KERNELS,
    Accelerator,
    AcceleratorReading,
    AcceleratorStatus,
    JobResult,
    JobState,
    Kernel,
    ModeSpec,
    PowerMode,
)
from hal.attitude import AttitudeControl, AttitudeMode, AttitudeReading
from hal.imager import N_BANDS, SCENE_PERIOD_S, Imager, ImageTiles
from hal.laser import (
    LaserReading,
    LaserTerminal,
    PatState,
    beam_divergence_rad,
    dbm_to_w,
    pointing_loss_db,
    received_power_dbm,
    received_power_w,
    w_to_dbm,
)
from hal.platform import (
    BLOB_NAME_PATTERN,
    ResetReason,
    Storage,
    StorageReading,
    Watchdog,
    WatchdogReading,
)
from hal.power import (
    Battery,
    BatteryReading,
    CellStatus,
    Pdu,
    PduReading,
    RailStatus,
    SolarArray,
    SolarArrayReading,
)
from hal.propulsion import Thruster, ThrusterReading, ThrusterStatus
from hal.registry import (
    ENTRY_POINT_GROUP,
    Backend,
    BackendFactory,
    FaultScenarios,
    MemoryRegistration,
    ProcessorReset,
    RunReport,
    SteppedPlant,
    UpsetModel,
    get_device,
    known_backends,
    open_backend,
    open_from_config,
    register_backend,
)
from hal.sensors import (
    GnssFix,
    GnssReading,
    GnssReceiver,
    Imu,
    ImuReading,
    StarTracker,
    StarTrackerReading,
    SunSensor,
    SunSensorReading,
    TemperatureChannel,
    TemperatureReading,
    TemperatureSensors,
    ecef_to_eci,
    eci_to_ecef,
    gmst_rad,
)
from hal.thermal import Heater, HeaterReading, Radiator, RadiatorReading
from native.errors import (
    BackendNotFoundError,
    ConfigError,
    DeviceCommandError,
    DeviceFaultError,
    DeviceUnavailableError,
    HalError,
)

#: Interface Protocol of each device family.
FAMILY_INTERFACES: dict[Family, type] = {
    Family.GNSS: GnssReceiver,
    Family.IMU: Imu,
    Family.STAR_TRACKER: StarTracker,
    Family.SUN_SENSOR: SunSensor,
    Family.TEMPERATURE: TemperatureSensors,
    Family.HEATER: Heater,
    Family.RADIATOR: Radiator,
    Family.SOLAR_ARRAY: SolarArray,
    Family.BATTERY: Battery,
    Family.PDU: Pdu,
    Family.THRUSTER: Thruster,
    Family.LASER_TERMINAL: LaserTerminal,
    Family.ACCELERATOR: Accelerator,
    Family.IMAGER: Imager,
    Family.WATCHDOG: Watchdog,
    Family.STORAGE: Storage,
    Family.ATTITUDE: AttitudeControl,
}

__all__ = [
    "BLOB_NAME_PATTERN",
    "ENTRY_POINT_GROUP",
    "FAMILY_INTERFACES",
    "N_BANDS",
    "SCENE_PERIOD_S",
    "STANDARD_KERNELS",
    "Accelerator",
    "AcceleratorReading",
    "AcceleratorStatus",
    "AttitudeControl",
    "AttitudeMode",
    "AttitudeReading",
    "Backend",
    "BackendFactory",
    "BackendNotFoundError",
    "Battery",
    "BatteryReading",
    "CellStatus",
    "ConfigError",
    "Device",
    "DeviceCommandError",
    "DeviceFaultError",
    "DeviceUnavailableError",
    "Family",
    "FaultScenarios",
    "GnssFix",
    "GnssReading",
    "GnssReceiver",
    "HalError",
    "Heater",
    "HeaterReading",
    "ImageTiles",
    "Imager",
    "Imu",
    "ImuReading",
    "JobResult",
    "JobState",
    "Kernel",
    "LaserReading",
    "LaserTerminal",
    "MemoryRegistration",
    "ModeSpec",
    "PatState",
    "Pdu",
    "PduReading",
    "PowerMode",
    "ProcessorReset",
    "Quat",
    "Radiator",
    "RadiatorReading",
    "RailStatus",
    "Reading",
    "ResetReason",
    "RunReport",
    "SolarArray",
    "SolarArrayReading",
    "StarTracker",
    "StarTrackerReading",
    "SteppedPlant",
    "Storage",
    "StorageReading",
    "SunSensor",
    "SunSensorReading",
    "TemperatureChannel",
    "TemperatureReading",
    "TemperatureSensors",
    "Thruster",
    "ThrusterReading",
    "ThrusterStatus",
    "UpsetModel",
    "Vec3",
    "Watchdog",
    "WatchdogReading",
    "beam_divergence_rad",
    "dbm_to_w",
    "ecef_to_eci",
    "eci_to_ecef",
    "get_device",
    "gmst_rad",
    "known_backends",
    "open_backend",
    "open_from_config",
    "pointing_loss_db",
    "received_power_dbm",
    "received_power_w",
    "register_backend",
    "w_to_dbm",
]
