"""What the headless-Chromium tests share: the skip when Chromium or selenium is missing, the ``browser`` fixture,
and a runtime whose loop waits on an approval while the app is served.

A browser test module imports ``pytestmark`` and ``browser`` from here (importing this module already skips the
test module where selenium is missing). Needs Debian's chromium and chromium-driver
(``apt-get install -y chromium chromium-driver``) and the ``selenium`` package (test extra).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsgraph.loop import ServiceLoop
from opsgraph.runtime import Runtime
from opsgraph.server.app import create_app
from opsgraph.settings import Settings
from tests.stubs.fleet import pending_loop
from tests.stubs.servers import serve_app

CHROMIUM, DRIVER = "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver && pip install -e '.[test]'"
webdriver = pytest.importorskip("selenium.webdriver", reason=f"selenium missing: {INSTALL}")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                                 reason=f"headless Chromium not found at {CHROMIUM} / {DRIVER}: {INSTALL}")]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1400,1000")


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def pending_approval(tmp_path: Path, token: str) -> Iterator[tuple[Runtime, ServiceLoop, Any]]:
    """A runtime (no memory) whose loop waits on an approval, and ``token`` naming alice, approver; yields
    (runtime, loop, the pending approval row)."""
    settings = Settings.from_env(tmp_path / "home").model_copy(update={"memory_enabled": False})
    with Runtime(settings) as runtime:
        (settings.home / "tokens.yaml").write_text(yaml.safe_dump({token: {"user": "alice", "roles": ["approver"]}}))
        loop = pending_loop(runtime, tmp_path)
        yield runtime, loop, runtime.store.approvals(status="pending")[0]


@contextmanager
def served(runtime: Runtime, loop: ServiceLoop) -> Iterator[str]:
    """The app served over ``runtime`` while ``loop`` keeps running in a thread, as under `opsgraph run`; yields the
    base URL. The loop is stopped on the way out."""
    loop.interval_s = 0.2
    worker = threading.Thread(target=loop.run, daemon=True)
    with serve_app(create_app(runtime.settings, runtime=runtime, llm=None)) as base:
        worker.start()
        try:
            yield base
        finally:
            loop.stop.set()
            worker.join(timeout=20)
