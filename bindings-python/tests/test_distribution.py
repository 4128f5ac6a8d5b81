"""The distribution as users install it: named `openallowly`, carrying README and LICENSE, and the import-time warning
when the vendor's `allowly` distribution shares the `allowly/` folder with it.

Each test installs a real wheel of ours and the vendor's real `allowly` 0.8.0 wheel (PyPI) into a fresh virtualenv;
nothing is simulated. The wheel is $ALLOWLY_WHEEL when set (e.g. a release wheel from `make wheels`), else a debug
one built here with maturin from this checkout (cargo's cache from `make python-build` makes that quick).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import REPO

PACKAGE_DIR = REPO / "bindings-python"
VENDOR_PIN = "allowly==0.8.0"
WARNING = "DistributionConflictWarning"

# Runs `import allowly` with every warning recorded, and prints what a test needs as one JSON line.
IMPORT_PROBE = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import allowly
print(json.dumps({
    "file": allowly.__file__,
    "has_client": hasattr(allowly, "Allowly"),
    "warnings": [{"category": w.category.__name__, "message": str(w.message)} for w in caught],
}))
"""

# Loads our _conflict.py by path (when the vendor's __init__.py is the one installed, `import allowly` runs its code
# and cannot reach ours) and prints the message it would give for the installed __init__.py.
CONFLICT_PROBE = """
import importlib.util, json, sys, sysconfig
from pathlib import Path
pkg = Path(sysconfig.get_paths()["purelib"]) / "allowly"
spec = importlib.util.spec_from_file_location("conflict_probe", pkg / "_conflict.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"message": module.conflict_message(pkg / "__init__.py")}))
"""


def _run(args: List[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONWARNINGS")}
    run = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{args} exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


@pytest.fixture(scope="module")
def our_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("ALLOWLY_WHEEL")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("wheel")
    maturin = Path(sys.executable).parent / "maturin"
    _run([str(maturin), "build", "--locked", "-q", "-m", str(PACKAGE_DIR / "Cargo.toml"), "-o", str(out)], REPO,
         timeout=3600)  # a cold cargo cache on two cores
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def vendor_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vendor's wheel alone (`--no-deps`): its files and record are what collide; its dependencies do not."""
    out = tmp_path_factory.mktemp("vendor")
    _run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps",
          "--only-binary", ":all:", "-d", str(out), VENDOR_PIN], out)
    (wheel,) = out.glob("allowly-*.whl")
    return wheel


class Venv:
    def __init__(self, root: Path) -> None:
        self.root = root
        _run([sys.executable, "-m", "venv", str(root)], root.parent)
        self.python = str(root / "bin" / "python")

    def pip(self, *args: str) -> None:
        _run([self.python, "-m", "pip", "--disable-pip-version-check", "-q", *args], self.root)

    def import_allowly(self) -> Dict[str, object]:
        return json.loads(_run([self.python, "-c", IMPORT_PROBE], self.root).stdout)

    def conflict_message(self) -> object:
        return json.loads(_run([self.python, "-c", CONFLICT_PROBE], self.root).stdout)["message"]


def conflict_warnings(result: Dict[str, object]) -> List[str]:
    return [w["message"] for w in result["warnings"] if w["category"] == WARNING]  # type: ignore[index,union-attr]


def test_the_wheel_is_openallowly_and_carries_readme_and_license(our_wheel: Path) -> None:
    assert our_wheel.name.startswith("openallowly-"), our_wheel.name
    with zipfile.ZipFile(our_wheel) as wheel:
        names = wheel.namelist()
        (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
        license_text = wheel.read(f"{dist_info}/licenses/LICENSE").decode()
    assert metadata["Name"] == "openallowly"
    assert metadata["License-Expression"] == "Apache-2.0"
    # The README is the long description (what PyPI shows), not a file dropped into site-packages.
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert metadata.get_payload().strip() == readme.strip()
    assert license_text == (REPO / "LICENSE").read_text()
    assert "allowly/__init__.py" in names and "allowly/_conflict.py" in names
    assert not any(n.endswith((".md", "LICENSE")) and not n.startswith(dist_info) for n in names), names


def test_license_copies_inside_the_packages_are_the_repository_license() -> None:
    """The Python and npm packages carry the repository's LICENSE as a copy (PEP 639 paths and npm's `files` cannot
    reach above the package folder); the Kotlin jar takes the root file itself (pom.xml's resources)."""
    root = (REPO / "LICENSE").read_text()
    assert root.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in root
    for copy in ("bindings-python/LICENSE", "bindings-node/LICENSE"):
        assert (REPO / copy).read_text() == root, f"{copy} differs from LICENSE: copy it again"


def test_no_warning_with_ours_alone(our_wheel: Path, tmp_path: Path) -> None:
    venv = Venv(tmp_path / "venv")
    venv.pip("install", "--no-deps", str(our_wheel))
    result = venv.import_allowly()
    assert result["has_client"] is True
    assert result["warnings"] == [], result
    assert venv.conflict_message() is None


def test_vendor_first_then_ours_warns_that_ours_owns_init(our_wheel: Path, vendor_wheel: Path,
                                                          tmp_path: Path) -> None:
    venv = Venv(tmp_path / "venv")
    venv.pip("install", "--no-deps", str(vendor_wheel))
    venv.pip("install", "--no-deps", str(our_wheel))
    result = venv.import_allowly()
    assert result["has_client"] is True  # the warning never stops the import
    (message,) = conflict_warnings(result)
    assert "openallowly" in message and "allowly 0.8.0" in message
    assert f"{result['file']} comes from openallowly" in message
    assert "`pip uninstall allowly` then `pip install --force-reinstall openallowly`" in message
    # As a user sees it: the default warning filters print it on stderr.
    plain = _run([venv.python, "-c", "import allowly"], venv.root)
    assert WARNING in plain.stderr and "pip uninstall allowly" in plain.stderr


def test_ours_first_then_vendor_then_the_documented_fix(our_wheel: Path, vendor_wheel: Path, tmp_path: Path) -> None:
    venv = Venv(tmp_path / "venv")
    venv.pip("install", "--no-deps", str(our_wheel))
    venv.pip("install", "--no-deps", str(vendor_wheel))
    # The vendor's __init__.py replaced ours: `import allowly` runs its code, so only our module read by path can
    # tell, and it names the vendor as the owner.
    message = venv.conflict_message()
    assert isinstance(message, str) and "comes from the vendor's allowly 0.8.0" in message
    # Reinstalling ours makes it the owner again; the vendor's distribution is still there, so it still warns.
    venv.pip("install", "--no-deps", "--force-reinstall", str(our_wheel))
    (message,) = conflict_warnings(venv.import_allowly())
    assert "comes from openallowly" in message
    # The fix as the warning words it: uninstalling the vendor's deletes the files both share, hence the reinstall.
    venv.pip("uninstall", "-y", "allowly")
    assert venv.import_allowly()["has_client"] is False
    venv.pip("install", "--no-deps", "--force-reinstall", str(our_wheel))
    result = venv.import_allowly()
    assert result["has_client"] is True and result["warnings"] == [], result
