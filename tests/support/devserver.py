"""The one way Python code in this repository starts a real `allowly serve` for a test, a benchmark or a script.

Standard library only, because its users run under different interpreters (the package's venv, the benchmark venvs,
the schemathesis venv, the system python). Import it by path:

    sys.path.insert(0, str(REPO / "tests" / "support"))
    from devserver import DevServer, dev_server

By default it runs `allowly serve --dev` on a free loopback port with a throwaway SQLite file and returns the ready
file (`base_url`, `workspace_id`, `runtime_api_key`, `setup_api_key`). The options cover what its users need beyond
that: another database URL (`--db`), no `--dev` (an `allowly init`-ed database and a master key in `env`), a fixed
port, extra environment, extra `serve` flags (`extra_args`), another binary, and kill/restart on the same database (the crash-restart check).

Failures raise `DevServerError` with the server's log tail; each caller turns it into its own kind of failure
(pytest.fail, sys.exit, a setup error). Keys stay in the returned dict and the log file: nothing here prints them.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, Mapping, Optional, Sequence, Union

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = float(os.environ.get("ALLOWLY_TEST_READY_TIMEOUT", "60"))

PathLike = Union[str, Path]


class DevServerError(RuntimeError):
    """The server exited or wrote no ready file in time; the message ends with its log tail."""


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))


def allowly_binary(profile: str = "debug") -> Path:
    """`ALLOWLY_BIN` if set (a release build for benchmarks, an installed one), else cargo's build of `profile`."""
    if os.environ.get("ALLOWLY_BIN"):
        return Path(os.environ["ALLOWLY_BIN"])
    return target_dir() / profile / "allowly"


def free_port() -> int:
    """A loopback port nothing listens on now (bound, then released): for servers restarted on the same port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevServer:
    """One `allowly serve` process; `start()` may be called again after `kill()` (same database, same port).

    `workdir` holds the ready file, the log and (without `db_url`) the SQLite file; `name` tells several servers
    sharing one workdir apart. Without `dev` the database must have been initialised (`allowly init`) and `env` must
    carry `ALLOWLY_MASTER_KEY`; with `dev` an inherited `ALLOWLY_MASTER_KEY` is dropped so the dev key file is used.
    """

    def __init__(
        self,
        workdir: PathLike,
        *,
        binary: Optional[PathLike] = None,
        db_url: Optional[str] = None,
        dev: bool = True,
        port: int = 0,
        env: Optional[Mapping[str, str]] = None,
        name: str = "",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.workdir = Path(workdir)
        self.binary = Path(binary) if binary else allowly_binary()
        suffix = f"-{name}" if name else ""
        self.db_path = self.workdir / f"test{suffix}.db"
        self.db_url = db_url or f"sqlite://{self.db_path}"
        self.dev = dev
        self.port = port
        self.extra_args = list(extra_args)
        self.env = dict(os.environ if env is None else env)
        if dev and env is None:
            self.env.pop("ALLOWLY_MASTER_KEY", None)
        self.ready_path = self.workdir / f"ready{suffix}.json"
        self.log_path = self.workdir / f"server{suffix}.log"
        self.proc: Optional[subprocess.Popen] = None
        self.info: Dict[str, str] = {}

    def spawn(self) -> None:
        """Starts the process without waiting (the crash-restart check also kills it while it starts up)."""
        if not self.binary.exists():
            raise DevServerError(f"{self.binary} does not exist: build it with `cargo build -p allowly-cli --bin allowly`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ready_path.unlink(missing_ok=True)
        args = [str(self.binary), "serve"] + (["--dev"] if self.dev else [])
        args += ["--db", self.db_url, "--listen", f"127.0.0.1:{self.port}", "--ready-file", str(self.ready_path)]
        args += self.extra_args
        with open(self.log_path, "ab") as log:  # appended: a restarted server's log follows the killed one's
            # Own session: a signal meant for the test runner (Ctrl-C) does not reach the server half-way.
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> Dict[str, str]:
        """Waits for a non-empty ready file and a 200 from `/readyz`; returns the ready file."""
        assert self.proc is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise DevServerError(f"allowly serve exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")
            if self.ready_path.exists() and self.ready_path.stat().st_size > 0:
                try:
                    info = json.loads(self.ready_path.read_text())
                except ValueError:
                    info = None  # written in one go, but never trust a torn read: look again
                if info and self._answers_readyz(info["base_url"]):
                    self.info = info
                    return info
            if time.monotonic() > deadline:
                raise DevServerError(f"allowly serve not ready within {timeout:.0f} s; log tail:\n{self.log_tail()}")
            time.sleep(0.05)

    def start(self, timeout: float = READY_TIMEOUT) -> Dict[str, str]:
        self.spawn()
        return self.wait_ready(timeout)

    @staticmethod
    def _answers_readyz(base_url: str) -> bool:
        host_port = base_url.split("://", 1)[1].split("/", 1)[0]
        host, _, port = host_port.rpartition(":")
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("GET", "/readyz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed, nothing is shut down cleanly."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (a graceful shutdown), SIGKILL if it has not exited within `timeout`."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def dev_server(
    workdir: Optional[PathLike] = None, *, timeout: float = READY_TIMEOUT, **options: object
) -> Iterator[DevServer]:
    """A started `DevServer` (see its options), stopped on exit. Without `workdir` a temporary one is used and
    removed afterwards; a given `workdir` is kept (the caller wants the log or the database)."""
    tmp = None if workdir else tempfile.mkdtemp(prefix="allowly-serve-")
    server = DevServer(workdir or tmp, **options)  # type: ignore[arg-type]
    try:
        server.start(timeout)
        yield server
    finally:
        server.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    """`python3 tests/support/devserver.py --binary PATH --workdir DIR [--db URL]`: for shell scripts (bench/server/run.sh).

    Starts `allowly serve --dev` in DIR, waits until it is ready and exits, leaving the server running; prints
    `PID BASE_URL` on stdout. The keys are in DIR/ready.json (mode 0600), never on a command line. Stopping the
    server (kill PID) is the caller's job."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=None, help="the allowly binary (default: ALLOWLY_BIN, else target/debug)")
    ap.add_argument("--workdir", required=True, help="ready file, log and SQLite file go here")
    ap.add_argument("--db", default=None, help="a database URL instead of a SQLite file in WORKDIR (postgres://...)")
    args = ap.parse_args()
    # A dev key file only sits next to a SQLite file; another database takes ALLOWLY_MASTER_KEY from the environment.
    server = DevServer(args.workdir, binary=args.binary, db_url=args.db, env=dict(os.environ) if args.db else None)
    try:
        server.start()
    except DevServerError as e:
        server.stop()
        sys.exit(str(e))
    assert server.proc is not None
    print(server.proc.pid, server.info["base_url"])


if __name__ == "__main__":
    main()
