"""The sdist's PEP 517 backend: maturin, but only when a Rust toolchain is already installed.

Without cargo, maturin's own backend asks pip for `puccinialin` and downloads a Rust toolchain into a temporary
directory, which takes minutes, needs network access to static.rust-lang.org and is rarely what a user who typed
`pip install` wanted (usually a prebuilt wheel was missing for their platform). This wrapper stops before that with a
message that names both ways out, and otherwise hands every hook to maturin unchanged. It must stay importable on
every Python the package supports (3.9+) with nothing but the standard library, because pip imports it before it
installs maturin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any, List, Mapping, Optional

_RUSTUP = "https://rustup.rs"


def _distribution_name() -> str:
    """The [project] name from pyproject.toml (the hooks run in the source tree), for the message only."""
    try:
        with open("pyproject.toml", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return "this package"
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    name = re.search(r'^name\s*=\s*"([^"]+)"', project.group(1), re.M) if project else None
    return name.group(1) if name else "this package"


def _toolchain_problem() -> Optional[str]:
    """None when `cargo --version` and `rustc --version` both run; otherwise what is missing."""
    for tool, env_var in (("cargo", "CARGO"), ("rustc", "RUSTC")):
        path = os.environ.get(env_var) or shutil.which(tool)
        if not path:
            return f"`{tool}` is not on PATH"
        try:
            run = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            return f"`{path} --version` could not run ({e.__class__.__name__})"
        if run.returncode != 0:
            # A rustup proxy without an installed toolchain lands here.
            first = (run.stderr or run.stdout).strip().splitlines()[:1]
            return f"`{path} --version` failed" + (f": {first[0]}" if first else "")
    return None


def _require_rust() -> None:
    problem = _toolchain_problem()
    if problem is None:
        # Rust is there; make sure maturin never decides to fetch another one anyway.
        os.environ["MATURIN_NO_INSTALL_RUST"] = "1"
        return
    name = _distribution_name()
    sys.stderr.write(
        f"\nerror: building {name} from source needs a Rust toolchain, and none was found ({problem}).\n"
        f"Either\n"
        f"  * install a prebuilt wheel instead: `pip install --only-binary=:all: {name}` (wheels exist for Linux\n"
        f"    x86_64 and aarch64 with glibc 2.17+ or musl, macOS x86_64 and arm64, and Windows x64; Python 3.9+), or\n"
        f"  * install Rust (cargo and rustc; {_RUSTUP}, or your system's rust/cargo packages), make sure `cargo` is on\n"
        f"    PATH, and run the same pip command again.\n"
        f"This build never downloads a Rust toolchain by itself.\n\n"
    )
    sys.stderr.flush()
    raise SystemExit(1)


def _maturin():
    import maturin  # installed by pip from [build-system] requires before any hook runs

    return maturin


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_rust()
    return _maturin().get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_rust()
    return _maturin().get_requires_for_build_editable(config_settings)


def get_requires_for_build_sdist(config_settings: Optional[Mapping[str, Any]] = None) -> List[str]:
    _require_rust()
    return _maturin().get_requires_for_build_sdist(config_settings)


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None
) -> str:
    _require_rust()
    return _maturin().prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def prepare_metadata_for_build_editable(
    metadata_directory: str, config_settings: Optional[Mapping[str, Any]] = None
) -> str:
    _require_rust()
    return _maturin().prepare_metadata_for_build_editable(metadata_directory, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_rust()
    return _maturin().build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    _require_rust()
    return _maturin().build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: Optional[Mapping[str, Any]] = None) -> str:
    _require_rust()
    return _maturin().build_sdist(sdist_directory, config_settings)
