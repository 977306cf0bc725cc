"""Protection of the core's own data: the parameter table's image and the TM downlink ring.

The composition calls :func:`protect_core` once, after installing the applications (so that
every component's parameters are registered): it creates region ``params`` and hands it to
the parameter store (:meth:`flight.core.ParamStore.protect`), and creates region
``tm_buffer`` and attaches a :class:`flight.tmtc.DownlinkBuffer` in it to the TM/TC endpoint
(:meth:`flight.tmtc.TmtcService.attach_downlink_buffer`). Sizes come from ``[edac]``
(``params_bytes``, ``tm_buffer_bytes``); a size too small for its data is a ConfigError naming
the key, checked before anything is created.
"""

from __future__ import annotations

from flight.core import ParamStore
from flight.edac._app import Config
from flight.edac._service import EdacRegions
from flight.tmtc import RECORD_HEADER_LEN, DownlinkBuffer, TmtcService
from native.errors import ConfigError

__all__ = ["protect_core"]


def protect_core(
    regions: EdacRegions, params: ParamStore, tmtc: TmtcService | None, cfg: Config
) -> None:
    """Put the parameter table's image in region ``params`` and the TM downlink buffer in
    region ``tm_buffer`` (only when ``tmtc`` is given; otherwise TM is untouched).

    ConfigError naming ``[edac] params_bytes`` / ``tm_buffer_bytes`` (nothing created) when a
    region would be too small: the image needs :meth:`ParamStore.image_size` octets, the
    ring one record of ``tmtc.max_packet_len`` octets plus its 8-octet header.
    """
    need = params.image_size()
    if need > cfg.params_bytes:
        raise ConfigError(
            f"[edac] params_bytes = {cfg.params_bytes}: the parameter image needs {need} octets"
        )
    if params.image is not None:
        raise ConfigError("[edac] the parameter table is already protected")
    if tmtc is not None:
        least = -(-tmtc.max_packet_len // 8) * 8 + RECORD_HEADER_LEN
        if cfg.tm_buffer_bytes // 8 * 8 < least:
            raise ConfigError(
                f"[edac] tm_buffer_bytes = {cfg.tm_buffer_bytes}: the downlink ring must hold "
                f"one TM packet of {tmtc.max_packet_len} octets and its record header "
                f"(at least {least})"
            )
        if tmtc.downlink_buffer is not None:
            raise ConfigError("[edac] the TM/TC endpoint already has a downlink buffer")
    for name in ("params", "tm_buffer") if tmtc is not None else ("params",):
        if name in regions:
            raise ConfigError(f"[edac] region {name!r} already exists")
    params.protect(regions.create("params", cfg.params_bytes))
    regions.param_store = params
    if tmtc is not None:
        # A TM packet stays in the ring for about one tick before the downlink drains it: an
        # adjacent-bit upset in that time is improbable (upsets are ~4e-7 per bit per day),
        # so the ring is not interleaved and pays no bit transposes on every packet; each
        # record still carries SECDED and its own CRC-32C.
        buffer = DownlinkBuffer(regions.create("tm_buffer", cfg.tm_buffer_bytes, interleave=1))
        tmtc.attach_downlink_buffer(buffer)
        regions.downlink_buffer = buffer
