"""Swagger UI (/api/docs) and GraphiQL (/api/graphql) work in a real browser, with every asset from the gateway.

Debian's chromium, driven by Playwright (its own browser download is never used). Requests to any other
host are refused and recorded, so a page that needs a CDN fails here. Skipped, with the reason, only where
no chromium is installed; in CI (``CI=true``) a missing chromium is a failure, and ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import LiveGateway

CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 30_000


def _chromium() -> str | None:
    found = os.environ.get("HARI_CHROMIUM") or next((c for c in CANDIDATES if Path(c).exists()), None)
    return found or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=FLAGS, timeout=TIMEOUT_MS
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: object, live_gateway: LiveGateway) -> Iterator[object]:
    """A fresh tab that may only talk to the gateway: any other request is aborted and recorded."""
    from playwright.sync_api import Route

    origin = urlsplit(live_gateway.url).netloc
    tab = browser.new_page()  # type: ignore[attr-defined]
    tab.set_default_timeout(TIMEOUT_MS)
    foreign: list[str] = []
    errors: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    tab.route("**/*", guard)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.foreign = foreign
    tab.js_errors = errors
    yield tab
    tab.close()
    assert foreign == [], f"the page tried to load assets from elsewhere: {foreign}"


def test_swagger_ui_authorizes_and_runs_a_call(page: object, live_gateway: LiveGateway) -> None:
    from playwright.sync_api import expect

    token = live_gateway.token()
    page.goto(live_gateway.url + "/api/docs")  # type: ignore[attr-defined]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("HARi gateway")  # type: ignore[attr-defined]
    expect(page.locator("#operations-auth-me")).to_be_visible()  # type: ignore[attr-defined]

    # Authorize with the access token (the bearerAuth scheme).
    page.click("button.btn.authorize")  # type: ignore[attr-defined]
    page.locator(".auth-container input").first.fill(token)  # type: ignore[attr-defined]
    page.locator(".auth-btn-wrapper button.authorize").first.click()  # type: ignore[attr-defined]
    page.click("button.btn-done")  # type: ignore[attr-defined]

    # Run GET /api/auth/me, which needs the credential.
    operation = page.locator("#operations-auth-me")  # type: ignore[attr-defined]
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table tbody")
    expect(live.locator(".response-col_status").first).to_have_text("200")
    expect(live.locator(".microlight").first).to_contain_text("admin@example.com")

    # The saved credential makes the reloaded document typed for this workspace's entities.
    page.reload()  # type: ignore[attr-defined]
    expect(page.locator("#operations-contact-create_contact")).to_be_visible()  # type: ignore[attr-defined]
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_graphiql_runs_a_query(page: object, live_gateway: LiveGateway) -> None:
    from playwright.sync_api import expect

    token = live_gateway.token()
    query = "query Count { contacts(page_size: 5) { meta { total } } }"  # needs the credential
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    # GraphiQL keeps its editors in localStorage: set the query and the headers, then press Run.
    page.goto(live_gateway.url + "/api/docs/favicon-16x16.png")  # type: ignore[attr-defined]  # same origin, any page
    page.evaluate(  # type: ignore[attr-defined]
        "([q, h]) => { localStorage.setItem('graphiql:query', q); localStorage.setItem('graphiql:headers', h); }",
        [query, headers],
    )
    page.goto(live_gateway.url + "/api/graphql")  # type: ignore[attr-defined]
    run = page.locator("button.graphiql-execute-button")  # type: ignore[attr-defined]
    expect(run).to_be_visible()
    run.click()
    result = page.locator(".graphiql-response")  # type: ignore[attr-defined]
    expect(result).to_contain_text('"total": 0')
    assert "errors" not in result.inner_text()
    assert page.js_errors == []  # type: ignore[attr-defined]
