"""Starting and stopping a real Fulmar binary for the Mastodon.py interop tests.

Every wait here is bounded: a hung server fails the test run instead of hanging it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent.parent

PASSWORD = "a long password"


def fulmar_binary() -> Path:
    """FULMAR_BIN (a relative path is taken from the current directory), else
    $CARGO_TARGET_DIR/release/fulmar, else the repository's target/release/fulmar,
    else its target/debug/fulmar."""
    if os.environ.get("FULMAR_BIN"):
        return Path(os.environ["FULMAR_BIN"]).resolve()
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(Path(os.environ["CARGO_TARGET_DIR"]) / "release" / "fulmar")
    candidates += [REPO_ROOT / "target/release/fulmar", REPO_ROOT / "target/debug/fulmar"]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise RuntimeError(
        f"no Fulmar binary: set FULMAR_BIN or run `cargo build --release -p fulmar` in {REPO_ROOT}"
    )


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fulmar:
    """A Fulmar server in a fresh temporary directory (its working directory), with
    FULMAR_DEV_INSECURE=1, listening on 127.0.0.1:PORT and calling itself localhost:PORT."""

    def __init__(self, port: int | None = None):
        self.bin = fulmar_binary()
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="fulmar-mastodon-py-"))
        self.domain = f"localhost:{self.port}"
        self.base = f"http://{self.domain}"
        self.proc: subprocess.Popen | None = None
        self._log: list[bytes] = []
        self._log_lock = threading.Lock()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FULMAR_")}
        env.update(
            FULMAR_DEV_INSECURE="1",
            FULMAR_LISTEN=f"127.0.0.1:{self.port}",
            FULMAR_DOMAIN=self.domain,
            FULMAR_DATA_DIR=str(self.dir / "fulmar-data"),
            FULMAR_DATABASE_URL=os.environ.get("FULMAR_INTEROP_DATABASE_URL")
            or f"sqlite://{self.dir / 'fulmar.db'}",
            NO_COLOR="1",
        )
        self.env = env

    @property
    def log(self) -> str:
        with self._log_lock:
            return b"".join(self._log).decode("utf-8", "replace")[-100_000:]

    def _pump(self, stream):
        for line in iter(stream.readline, b""):
            with self._log_lock:
                self._log.append(line)
                if len(self._log) > 5000:
                    del self._log[:2500]
        stream.close()

    def start(self, timeout: float = 30.0) -> None:
        """Starts `fulmar serve` and waits (bounded) until GET /health answers 200."""
        self.proc = subprocess.Popen(
            [str(self.bin), "serve"],
            cwd=self.dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()
        health = f"http://127.0.0.1:{self.port}/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fulmar serve exited early ({self.proc.returncode}):\n{self.log}")
            try:
                if requests.get(health, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.1)
        raise RuntimeError(f"GET {health} did not answer 200 within {timeout} s:\n{self.log}")

    def run(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs `fulmar ARGS...` with the server's environment."""
        return subprocess.run(
            [str(self.bin), *args],
            cwd=self.dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def create_user(self, name: str, email: str) -> None:
        r = self.run("admin", "create-user", name, "--email", email, "--password", PASSWORD)
        if r.returncode != 0:
            raise RuntimeError(
                f"fulmar admin create-user {name} exited {r.returncode}:\n{r.stdout}{r.stderr}"
            )

    def stop(self, timeout: float = 15.0) -> int | None:
        """Sends SIGTERM and waits (bounded); returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise RuntimeError(f"fulmar serve did not exit within {timeout} s of SIGTERM")

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
