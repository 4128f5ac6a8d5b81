"""The warning for a mixed install: this SDK (distribution ``openallowly``) next to the vendor's ``allowly``.

Both distributions import as ``allowly`` and so write the same ``allowly/`` folder: whichever pip installed last owns
the files they share (``__init__.py``, ``verify.py``, ...), and uninstalling either one deletes files the other needs.
Nothing fails at install time, so the import is the first place that can tell the user. The vendor's distribution
is the one *without* our native module: a build of this SDK from before the rename (also named ``allowly``) is not
a conflict. Only one metadata lookup runs in the common case; the files of both distributions are read only when
the vendor's is present. The check never raises: a broken metadata folder must not stop the SDK from importing.
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from pathlib import Path
from typing import Optional

__all__ = ["DistributionConflictWarning"]

OURS = "openallowly"
VENDOR = "allowly"
FIX = f"`pip uninstall {VENDOR}` then `pip install --force-reinstall {OURS}`"


class DistributionConflictWarning(UserWarning):
    """The vendor's ``allowly`` distribution is installed next to ``openallowly``; both write ``allowly/``."""


def _record_hash(path: Path) -> str:
    """A file's hash as a wheel RECORD writes it: sha256, urlsafe base64 without padding."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _recorded_init_hash(dist: object) -> Optional[str]:
    for file in getattr(dist, "files", None) or ():
        if str(file).replace("\\", "/") == "allowly/__init__.py" and file.hash is not None:
            return file.hash.value if file.hash.mode == "sha256" else None
    return None


def _is_our_build(dist: object) -> bool:
    """A build of this SDK under its old name (``allowly``, before the rename) is not the vendor's: its wheel ships
    ``allowly/_native`` and its metadata says Rust (an editable ``maturin develop`` records only a ``.pth``); the
    vendor's package is pure Python."""
    if any(str(f).replace("\\", "/").startswith("allowly/_native") for f in (getattr(dist, "files", None) or ())):
        return True
    classifiers = dist.metadata.get_all("Classifier") or []  # type: ignore[attr-defined]
    return "Programming Language :: Rust" in classifiers


def conflict_message(init_file: Path) -> Optional[str]:
    """The warning text when the vendor's distribution is installed too, else ``None``.

    ``init_file`` is the ``allowly/__init__.py`` that Python imported; its hash is compared with each
    distribution's RECORD to say which of the two owns it now.
    """
    from importlib import metadata

    try:
        vendor = metadata.distribution(VENDOR)
    except metadata.PackageNotFoundError:
        return None
    if _is_our_build(vendor):
        return None
    try:
        ours = metadata.distribution(OURS)
    except metadata.PackageNotFoundError:
        ours = None
    try:
        actual = _record_hash(init_file)
    except OSError:
        actual = None
    vendor_version = vendor.version or "?"
    if actual is not None and actual == _recorded_init_hash(vendor):
        owner = f"the vendor's {VENDOR} {vendor_version} (it was installed last, so its files replaced ours)"
    elif ours is not None and actual is not None and actual == _recorded_init_hash(ours):
        owner = f"{OURS} {ours.version} (this SDK, installed last)"
    else:
        owner = "neither distribution's record (edited or installed another way)"
    return (
        f"Two distributions that both install the `allowly` package are installed: {OURS} (this SDK) and the "
        f"vendor's {VENDOR} {vendor_version}. They write the same `allowly/` folder, so whichever pip installed last "
        f"owns the shared files, and uninstalling either one deletes files of the other. {init_file} comes from "
        f"{owner}. Fix: {FIX}."
    )


def warn_if_conflicting(init_file: str) -> None:
    """Called first thing by ``allowly/__init__.py``; warns with ``DistributionConflictWarning``, never raises."""
    try:
        message = conflict_message(Path(init_file))
    except Exception:  # noqa: BLE001 - a metadata problem must never break `import allowly`
        return
    if message is not None:
        warnings.warn(message, DistributionConflictWarning, stacklevel=3)
