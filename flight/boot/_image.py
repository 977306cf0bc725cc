"""The signed application image: container, manifest, signatures and their verification.

An image is one file::

    magic "SNIMG001" | u32 manifest length | u32 signatures length
    | manifest (canonical JSON) | signatures (JSON) | the files' bytes, in manifest order

The manifest (schema ``satnode-image/1``) names the compatible target models, a monotonic
integer ``version``, the ``sha256`` and size of every file, the runtime dependencies the
wheel expects (version and the sha256 of their installed ``RECORD``), and an expiry (UTC
seconds). Each signature is Ed25519 (the ``cryptography`` library) over the domain tag
:data:`SIGNING_CONTEXT` plus the manifest bytes; a target trusts a set of public keys and
needs ``threshold`` (k of n) valid signatures from them.

Verification checks the signatures before it parses the manifest, then every file's size and
hash, then (as asked) the model, the expiry and the anti-rollback version floor. Every
refusal is an :class:`ImageError` whose :attr:`~ImageError.reason` says which rule.
"""

from __future__ import annotations

import enum
import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from native.errors import SatnodeError

__all__ = [
    "IMAGE_MAGIC",
    "MANIFEST_SCHEMA",
    "SIGNATURES_SCHEMA",
    "SIGNING_CONTEXT",
    "FileEntry",
    "Image",
    "ImageError",
    "Refusal",
    "TrustPolicy",
    "canonical_json",
    "key_id",
    "pack_image",
    "parse_container",
    "verify_image",
]

IMAGE_MAGIC: Final = b"SNIMG001"
MANIFEST_SCHEMA: Final = "satnode-image/1"
SIGNATURES_SCHEMA: Final = "satnode-signatures/1"
#: Domain separation: a signature over an image manifest is never valid for anything else.
SIGNING_CONTEXT: Final = b"satnode-image-manifest/1\x00"
_HEAD: Final = struct.Struct(">8sII")
#: Largest manifest or signature block accepted (bytes): bounds the parser on bad input.
MAX_META_BYTES: Final = 1 << 20


@enum.unique
class Refusal(enum.Enum):
    """Why an image was refused (the rule that failed)."""

    MALFORMED = "malformed"  #: not an image container, or truncated
    TAMPERED_FILE = "tampered_file"  #: a file's size or sha256 differs from the manifest
    BAD_SIGNATURE = "bad_signature"  #: a trusted key's signature does not verify
    UNKNOWN_KEY = "unknown_key"  #: no signature is by a trusted key
    TOO_FEW_SIGNATURES = "too_few_signatures"  #: fewer valid signatures than the threshold
    DOWNGRADE = "downgrade"  #: version not above the anti-rollback floor
    WRONG_MODEL = "wrong_model"  #: built for another target model, platform or runtime
    EXPIRED = "expired"  #: the manifest's expiry is past (onboard time)


class ImageError(SatnodeError):
    """An image was refused; :attr:`reason` is the :class:`Refusal`, the message one line."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(f"image refused ({reason.value}): {message}")
        self.reason = reason


def canonical_json(doc: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of ``doc`` (sorted keys, no spaces, UTF-8)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    """A key's id: the first 16 hex digits of the sha256 of its 32 raw bytes."""
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """The public keys a target trusts (by key id) and how many must sign (k of n)."""

    keys: Mapping[str, Ed25519PublicKey]
    threshold: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= max(1, len(self.keys)):
            raise SatnodeError(
                f"trust threshold {self.threshold} must be in 1..{len(self.keys)} (trusted keys)"
            )


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of an image: name, role (``wheel``, ``config``...), size and sha256."""

    name: str
    role: str
    size: int
    sha256: str
    offset: int  #: where its bytes start in the image


@dataclass(frozen=True, slots=True)
class Image:
    """A verified image: its manifest, files and raw bytes."""

    manifest: Mapping[str, Any]
    manifest_bytes: bytes
    files: tuple[FileEntry, ...]
    data: bytes
    signers: tuple[str, ...]  #: key ids whose signatures verified

    @property
    def version(self) -> int:
        """The monotonic image version."""
        return int(self.manifest["version"])

    @property
    def sha256(self) -> str:
        """sha256 of the whole image file (hex)."""
        return hashlib.sha256(self.data).hexdigest()

    def file(self, role: str) -> FileEntry:
        """The (first) file of ``role``; ImageError MALFORMED if there is none."""
        for f in self.files:
            if f.role == role:
                return f
        raise ImageError(Refusal.MALFORMED, f"no {role!r} file in the image")

    def content(self, entry: FileEntry) -> bytes:
        """The bytes of file ``entry``."""
        return self.data[entry.offset : entry.offset + entry.size]


def pack_image(
    manifest: Mapping[str, Any], signatures: list[dict[str, str]], payload: bytes
) -> bytes:
    """Assemble an image file from its manifest, signature list and concatenated files."""
    m = canonical_json(manifest)
    s = canonical_json({"schema": SIGNATURES_SCHEMA, "signatures": signatures})
    return _HEAD.pack(IMAGE_MAGIC, len(m), len(s)) + m + s + payload


def parse_container(data: bytes) -> tuple[bytes, list[dict[str, str]], int]:
    """Split an image into (manifest bytes, signatures, payload offset); MALFORMED otherwise."""
    if len(data) < _HEAD.size:
        raise ImageError(Refusal.MALFORMED, f"{len(data)} bytes is too short for an image")
    magic, m_len, s_len = _HEAD.unpack_from(data)
    if magic != IMAGE_MAGIC:
        raise ImageError(Refusal.MALFORMED, "not a satnode image (bad magic)")
    if m_len > MAX_META_BYTES or s_len > MAX_META_BYTES:
        raise ImageError(Refusal.MALFORMED, "manifest or signature block too large")
    end = _HEAD.size + m_len + s_len
    if end > len(data):
        raise ImageError(Refusal.MALFORMED, "truncated before the end of the signatures")
    manifest = bytes(data[_HEAD.size : _HEAD.size + m_len])
    try:
        doc = json.loads(bytes(data[_HEAD.size + m_len : end]))
        sigs = doc["signatures"]
        if doc.get("schema") != SIGNATURES_SCHEMA or not isinstance(sigs, list):
            raise ValueError("schema")
        parsed = [{"keyid": str(s["keyid"]), "sig": str(s["sig"])} for s in sigs]
    except (ValueError, KeyError, TypeError) as exc:
        raise ImageError(Refusal.MALFORMED, f"signature block unreadable ({exc})") from None
    return manifest, parsed, end


def _check_signatures(manifest: bytes, sigs: list[dict[str, str]], trust: TrustPolicy) -> list[str]:
    message = SIGNING_CONTEXT + manifest
    good: list[str] = []
    unknown: list[str] = []
    for s in sigs:
        kid = s["keyid"]
        key = trust.keys.get(kid)
        if key is None:
            unknown.append(kid)
            continue
        try:
            key.verify(bytes.fromhex(s["sig"]), message)
        except (InvalidSignature, ValueError):
            raise ImageError(
                Refusal.BAD_SIGNATURE,
                f"the signature of trusted key {kid} does not verify: the manifest or the "
                "signature was altered",
            ) from None
        if kid not in good:
            good.append(kid)
    if not good:
        shown = ", ".join(unknown) if unknown else "none"
        raise ImageError(Refusal.UNKNOWN_KEY, f"no signature by a trusted key (signed by: {shown})")
    if len(good) < trust.threshold:
        raise ImageError(
            Refusal.TOO_FEW_SIGNATURES,
            f"{len(good)} valid signature(s) from trusted keys, {trust.threshold} required",
        )
    return good


def _files(manifest: Mapping[str, Any], payload_at: int, total: int) -> tuple[FileEntry, ...]:
    entries: list[FileEntry] = []
    at = payload_at
    try:
        for f in manifest["files"]:
            size = int(f["size"])
            if size < 0:
                raise ValueError("negative size")
            entries.append(FileEntry(str(f["name"]), str(f["role"]), size, str(f["sha256"]), at))
            at += size
    except (KeyError, TypeError, ValueError) as exc:
        raise ImageError(Refusal.MALFORMED, f"manifest file list unreadable ({exc})") from None
    if at != total:
        raise ImageError(
            Refusal.TAMPERED_FILE,
            f"payload is {total - payload_at} bytes, the manifest lists {at - payload_at}",
        )
    return tuple(entries)


def verify_image(
    data: bytes,
    trust: TrustPolicy,
    *,
    model: str | None = None,
    now_utc_s: float | None = None,
    floor: int | None = None,
    runtime: Mapping[str, Mapping[str, str]] | None = None,
) -> Image:
    """Verify an image and return it; ImageError (one line, with a :class:`Refusal`) if any
    check fails. Always: container, signatures (k of n trusted keys), manifest schema, every
    file's size and sha256. When given: ``model`` (must be in the manifest's ``models``),
    ``runtime`` (``{dist: {"version", "record_sha256"}}`` of this computer: every dependency
    the manifest expects must match), ``now_utc_s`` (onboard UTC, s: must be before
    ``expires_utc_s``) and ``floor`` (the version must be above it)."""
    manifest_bytes, sigs, payload_at = parse_container(data)
    signers = _check_signatures(manifest_bytes, sigs, trust)
    try:
        manifest = json.loads(manifest_bytes)
        if not isinstance(manifest, dict) or manifest.get("schema") != MANIFEST_SCHEMA:
            raise ValueError(f"schema is not {MANIFEST_SCHEMA}")
        version = manifest["version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"version {version!r} is not an integer >= 1")
        float(manifest["expires_utc_s"])
        models = manifest["models"]
        if not isinstance(models, list):
            raise ValueError("models is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise ImageError(Refusal.MALFORMED, f"manifest unreadable ({exc})") from None
    files = _files(manifest, payload_at, len(data))
    view = memoryview(data)
    for f in files:
        # hashlib releases the GIL and reads the slice in place: no copy of the payload
        if hashlib.sha256(view[f.offset : f.offset + f.size]).hexdigest() != f.sha256:
            raise ImageError(Refusal.TAMPERED_FILE, f"{f.name}: sha256 differs from the manifest")
    if model is not None and model not in models:
        raise ImageError(
            Refusal.WRONG_MODEL, f"built for {', '.join(map(str, models))}, this target is {model}"
        )
    if runtime is not None:
        for dist, want in dict(manifest.get("runtime", {})).items():
            have = runtime.get(dist)
            if have is None:
                raise ImageError(Refusal.WRONG_MODEL, f"runtime dependency {dist} is missing")
            for key in ("version", "record_sha256"):
                if str(want.get(key)) != str(have.get(key)):
                    raise ImageError(
                        Refusal.WRONG_MODEL,
                        f"runtime dependency {dist}: {key} {have.get(key)} here, "
                        f"the image expects {want.get(key)}",
                    )
    if now_utc_s is not None and now_utc_s >= float(manifest["expires_utc_s"]):
        raise ImageError(
            Refusal.EXPIRED,
            f"expired at UTC {manifest['expires_utc_s']:.0f} s, onboard time is {now_utc_s:.0f} s",
        )
    if floor is not None and version <= floor:
        raise ImageError(
            Refusal.DOWNGRADE,
            f"version {version} is not above the anti-rollback floor {floor}",
        )
    return Image(manifest, manifest_bytes, files, bytes(data), tuple(signers))
