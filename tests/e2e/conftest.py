"""Browser tests of the console: the real app (local target, FerretDB) on a real uvicorn server,
driven by Playwright through Debian's Chromium (never a downloaded browser).

Each test gets a fresh database, data directory, server and browser profile. When a test
fails, a full-page screenshot of every open page is saved in its tmp dir (the path is printed
in the failure report); step screenshots taken by the tests land there too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import BrowserContext, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from api.app import create_app
from engine.settings import Settings
from tests.fixtures.api import ADMIN_TOKEN, AUTH
from tests.fixtures.threaded_server import listening, port_of, serving_on

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 60.0


@dataclass
class Console:
    """The running app: its base URL, an API client, and where the test's artifacts go."""

    url: str
    api: httpx.Client
    artifacts: Path
    errors: list[str] = field(default_factory=list)

    def screenshot(self, page: Page, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remembers each phase's report on the item, so fixtures can see that the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@contextlib.contextmanager
def _serve(mongo_uri: str, database: str, data_dir: Path, **extra: Any) -> Iterator[str]:
    """The app (these settings, on a loopback port bound first) on uvicorn in a thread,
    lifespan included, until the block ends; yields its base URL."""
    with listening() as sock:
        settings = Settings(
            mongodb_uri=mongo_uri,
            database=database,
            data_dir=data_dir,
            host="127.0.0.1",
            port=port_of(sock),
            **extra,
        )
        config = uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            lifespan="on",
        )
        with serving_on(config, sock, "console-e2e-server", SERVER_START_TIMEOUT_S):
            yield f"http://{settings.host}:{settings.port}"


@pytest.fixture
def console(mongo_uri: str, mongo_db_name: str, tmp_path: Path) -> Iterator[Console]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    artifacts = tmp_path / "screenshots"
    artifacts.mkdir()
    with (
        _serve(mongo_uri, mongo_db_name, data_dir) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as client,
    ):
        yield Console(url=url, api=client, artifacts=artifacts)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make tools` installs it (apt-get install chromium)")
    profile = tmp_path / "chromium-profile"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def sign_in(tab: Page, url: str, token: str = ADMIN_TOKEN) -> None:
    """What a person does with the link the control plane printed."""
    tab.goto(f"{url}/console/login#token={token}")
    tab.wait_for_url(f"{url}/console/")


@pytest.fixture
def page(
    browser: BrowserContext, console: Console, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A tab on the console, signed in with the admin token's printed link; uncaught script
    errors fail the test; screenshots on failure."""
    tab = browser.new_page()
    tab.set_default_timeout(15_000)
    tab.on("pageerror", lambda exc: console.errors.append(f"{tab.url}: {exc}"))
    sign_in(tab, console.url)
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for n, open_page in enumerate(browser.pages):
            with contextlib.suppress(PlaywrightError):
                path = console.screenshot(open_page, f"failure-{n}")
                print(f"screenshot of {open_page.url}: {path}")
