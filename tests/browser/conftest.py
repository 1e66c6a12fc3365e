"""Browser tests: Debian's Chromium driven by Playwright against a real ``podium serve`` process.

Pages are opened on ``http://podium.test:<port>`` (mapped to 127.0.0.1 by ``--host-resolver-rules``), so they
run as an insecure context, as on a venue LAN: no service worker, no ``crypto.randomUUID``.
Screenshots go to ``var/screenshots/``. Playwright never downloads a browser here: Chromium comes from Debian.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKEND, REDIS_URL, ROOT, create_pg_database, drop_pg_database, missing

HOST = "podium.test"
SCREENSHOTS = ROOT / "var" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A real server process with its own database; restartable (for crash and resync tests)."""

    var_dir: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.var_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def podium(self, *args: str) -> str:
        """Run a ``podium`` CLI command against this server's database and return its output."""
        out = subprocess.run([sys.executable, "-m", "judging", *args], env=self.env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"podium {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "judging", "serve"], env=self.env, cwd=ROOT,
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited:\n" + self.log_path.read_text()[-3000:])
            try:
                if httpx.get(self.local_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def login_link(self, account_id: int) -> str:
        """A fresh login link for an account, on the podium.test origin."""
        line = self.podium("users", "link", str(account_id)).strip()
        return self.url + "/j/" + line.rsplit("/j/", 1)[1]


@contextmanager
def running_server(var_dir: Path, **extra_env: str) -> Iterator[LiveServer]:
    """A migrated ``podium serve`` process with the demo contest, on the selected backend; stopped at exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({"PODIUM_VAR_DIR": str(var_dir), "PODIUM_PORT": str(port), "PODIUM_HOST": "127.0.0.1",
                "PODIUM_PUBLIC_URL": f"http://{HOST}:{port}", "PODIUM_LOG_LEVEL": "WARNING", **extra_env})
    pg_url = ""
    if BACKEND == "pg":
        pg_url = create_pg_database()
        env["PODIUM_DATABASE_URL"] = pg_url
        env["PODIUM_REDIS_URL"] = REDIS_URL
    server = LiveServer(var_dir, port, env)
    try:
        server.podium("db", "upgrade")
        server.podium("demo")
        server.start()
        yield server
    finally:
        server.stop()
        if pg_url:
            drop_pg_database(pg_url)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with the demo contest loaded (one per test module)."""
    with running_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def chromium_path() -> str:
    # Debian's package first: a ``chromium`` earlier on PATH may be a browser some other tool downloaded.
    debian = Path("/usr/bin/chromium")
    exe = str(debian) if debian.exists() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        missing("Debian chromium (apt-get install chromium)")
    return str(exe)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an event loop running in the
    main thread while it is started, and tests in other modules call ``asyncio.run`` (migrations, the CLI)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN")
    yield ctx
    ctx.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
