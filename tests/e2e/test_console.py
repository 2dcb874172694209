"""The operator console in a real browser (Debian's Chromium, driven by Playwright) on a standard stack."""

from __future__ import annotations

import os
import re
import shutil
import textwrap
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.servers import wait_for
from tests.stack import REPO, make_stack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as this machine runs it: no sandbox as root, and none of its calls home (the network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("BRAIN_TEST_OUTPUT", REPO / "tests" / "output")) / "console"
POLICY = """
default: allow
rules:
  - id: hold-echo
    priority: 90
    match:
      agent: echo
      payload: [{field: hold, equals: true}]
    effect: require_approval
"""


@pytest.fixture(scope="module")
def console(request, tmp_path_factory):
    """API (auth required, multi-tenant) + a prefork worker + beat on PostgreSQL and Redis; echo {hold: true} waits."""
    policies = tmp_path_factory.mktemp("policies")
    (policies / "hold.yaml").write_text(textwrap.dedent(POLICY))
    s = make_stack(
        "standard",
        request,
        "console_e2e",
        BRAIN_POLICIES_DIR=str(policies),
        BRAIN_AUTH_REQUIRED="true",
        BRAIN_MULTI_TENANCY="true",  # as a platform runs it: row-level security, a platform admin
        NEURORAIL_PHASE="2",
        NEURORAIL_ENFORCEMENT_PERCENTAGE="100",
        NEURORAIL_REFLEX_FAILURES="2",
        NEURORAIL_REFLEX_COOLDOWN_S="600",  # stays open until someone resets it
        NEURORAIL_ROLLBACK_MIN_MISSIONS="100000",
    )
    with s.serving(concurrency=2):
        yield s


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (tests/run.sh installs Debian's package)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shot(request):
    """Call at the end of a test: saves the page as tests/output/console/<test>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(page) -> Path:
        text = page.locator("body").inner_text()
        assert "[object " not in text and "undefined" not in text, text  # nothing rendered as a raw JS value
        path = SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', request.node.name)}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000
        return path

    return save


def log_in(browser, console, sub: str, *roles: str, tenant: str = "default"):
    """A browser context logged in through the form, as `sub` of `tenant` with `roles`; returns its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=console.api_url)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations are answered yes
    page.goto("/console/")
    assert page.url.endswith("/console/login")
    page.get_by_label("API token").fill(console.token(sub=sub, tenant=tenant, roles=roles))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/console/#?/?.*$"))
    page.locator("#who").filter(has_text=sub).wait_for()
    return page


def csrf_of(page) -> str:
    return page.request.get("/console/session").json()["csrf"]


def test_login_logout_and_csrf_refusal(browser, console, shot):
    context = browser.new_context(base_url=console.api_url)
    page = context.new_page()
    page.goto("/console/")
    assert page.url.endswith("/console/login")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Log in").click()
    assert "That token was refused" in page.locator("#login-error").inner_text()

    page = log_in(browser, console, "olga", "operator")
    assert "olga · default · operator" in page.locator("#who").inner_text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["brain_session"]["httpOnly"] and cookies["brain_session"]["sameSite"] == "Strict"
    # The session cookie alone does not make an unsafe request: the CSRF token must come too.
    forged = page.request.post("/api/missions", data={"name": "forged", "agent": "echo"})
    assert forged.status == 403 and forged.json()["error"] == "csrf_failed"
    wrong = page.request.post(
        "/api/missions", data={"name": "forged", "agent": "echo"}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status == 403 and wrong.json()["error"] == "csrf_failed"
    ok = page.request.post(
        "/api/missions", data={"name": "own", "agent": "echo"}, headers={"X-CSRF-Token": csrf_of(page)}
    )
    assert ok.status == 202, ok.text()
    assert page.request.post("/console/logout").status == 403  # logout is a form with the token too
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/console/login$"))
    assert page.request.get("/console/session").status == 401
    assert page.request.get("/api/missions").status == 401
    shot(page)


def test_submit_from_the_form_and_watch_it_succeed(browser, console, shot):
    page = log_in(browser, console, "olga", "operator")
    page.get_by_role("link", name="Submit").click()
    page.locator("#submit-form").wait_for()
    page.get_by_label("Name").fill("from the form")
    page.get_by_label("Agent").select_option("echo")
    page.get_by_label("Payload (JSON)").fill('{"greeting": "hello"}')
    page.get_by_role("button", name="Submit mission").click()
    page.wait_for_url(re.compile(r"#/missions/[0-9a-f-]{36}$"))
    page.locator("h1 .status-succeeded").wait_for(timeout=30_000)
    page.locator("#timeline").filter(has_text="mission.succeeded").wait_for()
    mission_id = page.url.rsplit("/", 1)[1]
    stored = console.mission(mission_id)
    assert stored["status"] == "succeeded" and stored["result"] == {"greeting": "hello"}
    assert stored["submitted_by"] == "olga"
    shot(page)


def test_a_422_is_shown_at_its_field(browser, console, shot):
    page = log_in(browser, console, "olga", "operator")
    page.goto("/console/#/submit")
    page.locator("#submit-form").wait_for()
    page.get_by_label("Agent").select_option("echo")
    page.get_by_label("Name").fill("bad limit")
    page.get_by_label("Time limit (seconds)").fill("soon")
    page.get_by_role("button", name="Submit mission").click()
    error = page.locator("#s-timeout_s-error")
    error.filter(has_text=re.compile(r"\S")).wait_for()
    assert "integer" in error.inner_text().lower()
    assert page.url.endswith("#/submit")  # nothing was accepted
    page.get_by_label("Payload (JSON)").fill("{not json")
    page.get_by_role("button", name="Submit mission").click()
    assert "Not JSON" in page.locator("#s-payload-error").inner_text()
    # An agent with a payload schema gets a field per property, and the API's message lands on it.
    page.get_by_label("Agent").select_option("sleep")
    page.get_by_label("Time limit (seconds)").fill("")
    page.get_by_label("seconds (required)").fill("-5")
    page.get_by_role("button", name="Submit mission").click()
    seconds = page.locator("#s-payload\\.seconds-error")
    seconds.filter(has_text=re.compile(r"\S")).wait_for()
    assert "greater than or equal to 0" in seconds.inner_text()
    assert page.locator("#s-timeout_s-error").inner_text() == ""  # fixed, so no longer said
    shot(page)


def _held(console, submitter: str) -> dict:
    token = console.token(sub=submitter, roles=("operator",))
    resp = console.request(
        "POST", "/api/missions", token=token, json={"name": "needs a yes", "agent": "echo", "payload": {"hold": True}}
    )
    assert resp.status_code == 202 and resp.json()["status"] == "awaiting_approval", resp.text
    return resp.json()


def test_approve_an_awaiting_mission_and_see_it_run(browser, console, shot):
    mission = _held(console, "alice")
    page = log_in(browser, console, "bob", "approver")
    page.get_by_role("link", name="Approvals").click()
    row = page.locator(f'#approvals tr[data-mission="{mission["id"]}"]')
    row.get_by_label("Reason").fill("looks fine")
    row.get_by_role("button", name="Approve").click()
    row.wait_for(state="detached")
    done = console.wait_status(mission["id"], timeout=30)
    assert done["status"] == "succeeded"
    page.goto(f"/console/#/missions/{mission['id']}")
    page.locator("#timeline").filter(has_text="approval.granted").wait_for()
    shot(page)


def test_reject_an_awaiting_mission_and_self_approval_is_refused(browser, console, shot):
    mission = _held(console, "alice")
    own = log_in(browser, console, "alice", "approver", "operator")
    own.goto("/console/#/approvals")
    row = own.locator(f'#approvals tr[data-mission="{mission["id"]}"]')
    row.get_by_role("button", name="Approve").click()
    own.locator("#toast p.bad").filter(has_text="may not approve").wait_for()
    assert console.mission(mission["id"])["status"] == "awaiting_approval"

    page = log_in(browser, console, "bob", "approver")
    page.goto("/console/#/approvals")
    row = page.locator(f'#approvals tr[data-mission="{mission["id"]}"]')
    row.get_by_label("Reason").fill("not today")
    row.get_by_role("button", name="Reject").click()
    row.wait_for(state="detached")
    stored = console.mission(mission["id"])
    assert stored["status"] == "rejected" and stored["error"]["message"] == "not today"
    shot(page)


def test_cancel_a_running_mission(browser, console, shot):
    mission = console.submit("sleep", {"seconds": 60})
    console.wait_status(mission["id"], "running", timeout=30)
    page = log_in(browser, console, "olga", "operator")
    page.goto(f"/console/#/missions/{mission['id']}")
    page.get_by_role("button", name="Cancel mission").click()
    page.locator("h1 .status-cancelled").wait_for(timeout=30_000)
    assert console.mission(mission["id"])["status"] == "cancelled"
    assert page.get_by_role("button", name="Cancel mission").count() == 0
    shot(page)


def _breaker(console, name: str) -> str:
    items = console.request("GET", "/api/neurorail/reflexes").json()["items"]
    return next((b["state"] for b in items if b["name"] == name), "closed")


def test_reset_an_open_breaker(browser, console, shot, tmp_path):
    fail_file = tmp_path / "failing"
    fail_file.write_text("on")
    for _ in range(2):
        console.wait_status(console.submit("test.flaky", {"fail_file": str(fail_file)})["id"])
    wait_for(lambda: _breaker(console, "test.flaky") == "open", 30, what="the breaker to open")
    page = log_in(browser, console, "ada", "admin")
    page.get_by_role("link", name="Rails").click()
    row = page.locator('#breakers tr[data-name="test.flaky"]')
    row.locator(".status-open").wait_for()
    row.get_by_role("button", name="Reset").click()
    row.locator(".status-closed").wait_for()
    assert _breaker(console, "test.flaky") == "closed"
    shot(page)


def test_a_viewer_sees_no_action_buttons_and_a_forged_post_is_refused(browser, console, shot):
    running = console.submit("sleep", {"seconds": 60})
    console.wait_status(running["id"], "running", timeout=30)
    held = _held(console, "alice")
    page = log_in(browser, console, "vic", "viewer")
    page.locator("#missions tbody tr").first.wait_for()
    assert page.get_by_role("link", name="Submit").is_hidden()
    assert page.get_by_role("button", name=re.compile("Cancel")).count() == 0
    page.goto(f"/console/#/missions/{running['id']}")
    page.locator("#facts").wait_for()
    assert page.get_by_role("button").filter(has_text=re.compile("Cancel|Submit again")).count() == 0
    page.goto("/console/#/approvals")
    page.locator(f'#approvals tr[data-mission="{held["id"]}"]').wait_for()
    assert page.get_by_role("button", name=re.compile("Approve|Reject")).count() == 0
    page.goto("/console/#/rails")
    page.get_by_role("heading", name="Circuit breakers").wait_for()
    assert page.get_by_role("button", name="Reset").count() == 0
    page.goto("/console/#/system")
    page.get_by_text("Health, SLA and recent errors are shown to admins.").wait_for()
    # With a valid CSRF token the server still refuses what the role lacks.
    forged = page.request.post(f"/api/missions/{running['id']}/cancel", headers={"X-CSRF-Token": csrf_of(page)})
    assert forged.status == 403 and forged.json()["error"] == "forbidden"
    assert console.mission(running["id"])["status"] == "running"
    shot(page)
    console.request("POST", f"/api/missions/{running['id']}/cancel")


def test_the_system_page_shows_health_queues_and_recent_errors_to_an_admin(browser, console, shot):
    failed = console.wait_status(console.submit("test.fail", {})["id"])
    assert failed["status"] == "failed"
    page = log_in(browser, console, "ada", "admin")
    page.get_by_role("link", name="System").click()
    page.locator("#health").wait_for()
    health = page.locator("#health").inner_text()
    assert "database:" in health and "redis:" in health and "Oldest queued" in health
    assert page.locator("#queues tbody tr").count() >= 1
    page.locator(f'#errors a[href="#/missions/{failed["id"]}"]').wait_for()
    shot(page)


def test_a_pipeline_run_is_drawn_with_its_nodes_coloured_and_linked_to_their_missions(browser, console, shot):
    source = (REPO / "pipelines" / "etl.yaml").read_text()
    assert console.request("PUT", "/api/pipelines/etl", json={"source": source}).status_code in (200, 201)
    resp = console.request("POST", "/api/pipelines/etl/runs", json={"inputs": {"partitions": 3}})
    assert resp.status_code == 202, resp.text
    run_id = resp.json()["id"]
    wait_for(
        lambda: console.request("GET", f"/api/pipeline-runs/{run_id}").json()["status"] == "succeeded",
        60,
        what="the ETL run",
    )
    page = log_in(browser, console, "olga", "operator")
    page.get_by_role("link", name="Pipelines").click()
    page.locator(f'#runs a[href="#/pipelines/runs/{run_id}"]').click()
    page.locator("#dag").wait_for()
    assert page.locator("#dag .dag-node").count() == 4
    assert page.locator("#dag .dag-node.node-succeeded").count() == 4
    assert page.locator("#dag .edge").count() == 3
    page.locator('#dag [data-node="transform"]').click()
    rows = page.locator("#node-rows tbody tr")
    rows.first.wait_for()
    assert rows.count() == 4  # the fan-out node and its three items
    mission_links = page.locator('#node-rows a[href^="#/missions/"]')
    assert mission_links.count() == 3
    shot(page)
    mission_links.first.click()
    page.locator("h1 .status-succeeded").wait_for()
    assert "partition" in page.locator("main").inner_text()


def test_an_admin_creates_suspends_and_resumes_a_tenant(browser, console, shot):
    tenant = f"acme-{uuid.uuid4().hex[:6]}"
    page = log_in(browser, console, "ada", "admin")
    page.get_by_role("link", name="Tenants").click()
    page.locator("#tenant-form").wait_for()
    page.get_by_label("Id").fill("not a valid id!")
    page.get_by_label("Name", exact=True).fill("Broken")
    page.get_by_role("button", name="Create tenant").click()
    page.locator("#t-id-error").filter(has_text=re.compile(r"\S")).wait_for()
    page.get_by_label("Id").fill(tenant)
    page.get_by_label("Name", exact=True).fill("Acme Corp")
    page.get_by_role("button", name="Create tenant").click()
    row = page.locator(f'#tenants tr[data-id="{tenant}"]')
    row.locator(".status-active").wait_for()
    row.get_by_label(f"Reason to suspend {tenant}").fill("unpaid invoice")
    row.get_by_role("button", name="Suspend").click()
    row.locator(".status-suspended").wait_for()
    assert console.request("GET", f"/api/tenants/{tenant}").json()["suspended_reason"] == "unpaid invoice"
    shot(page)
    row.get_by_role("button", name="Resume").click()
    row.locator(".status-active").wait_for()
    assert console.request("GET", f"/api/tenants/{tenant}").json()["status"] == "active"
    operator = log_in(browser, console, "olga", "operator")
    assert operator.get_by_role("link", name="Tenants").is_hidden()


def test_a_platform_admin_reads_a_customer_tenants_missions_read_only(browser, console, shot):
    customer = f"cust-{uuid.uuid4().hex[:6]}"
    token = console.token(sub="carla", tenant=customer, roles=("operator",))
    resp = console.request(
        "POST",
        "/api/missions",
        token=token,
        json={"name": "customer work", "agent": "sleep", "payload": {"seconds": 60}},
    )
    assert resp.status_code == 202, resp.text
    mission = resp.json()
    page = log_in(browser, console, "ada", "admin")
    page.locator("#missions").wait_for()
    assert page.locator(f'#missions tr[data-id="{mission["id"]}"]').count() == 0  # not in the admin's own list
    page.get_by_label("Tenant").fill(customer)
    page.get_by_role("button", name="Filter").click()
    page.locator(f'#missions tr[data-id="{mission["id"]}"]').wait_for()
    assert page.get_by_role("button", name=re.compile("Cancel")).count() == 0  # read only
    page.locator(f'#missions tr[data-id="{mission["id"]}"] a').click()
    page.locator("#timeline").filter(has_text="mission.created").wait_for()
    assert customer in page.locator("#facts").inner_text()
    assert page.get_by_role("button", name="Cancel mission").count() == 0
    shot(page)
    # The customer's own operator has no tenant field and cannot ask for another tenant.
    own = log_in(browser, console, "carla", "operator", tenant=customer)
    own.locator("#missions").wait_for()
    assert own.get_by_label("Tenant").count() == 0
    assert own.request.get("/api/missions?tenant=default").status == 403
    console.request("POST", f"/api/missions/{mission['id']}/cancel", token=token)


def test_bulk_cancel_by_filter(browser, console, shot):
    tag = f"bulk-{uuid.uuid4().hex[:6]}"
    ids = [console.submit("sleep", {"seconds": 60}, name=f"bulk {n}", tags=[tag])["id"] for n in range(5)]
    bystander = console.submit("sleep", {"seconds": 60}, name="not in the filter")
    page = log_in(browser, console, "olga", "operator")
    page.locator("#missions").wait_for()
    page.get_by_label("Tag").fill(tag)
    page.get_by_label("Created from").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(f"tag={tag}"))
    expect(page.locator("#missions tbody tr")).to_have_count(5)  # the tag selects exactly its five
    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel all matching").click()
    page.locator("#toast p").filter(has_text="Cancelled 5 of 5").wait_for(timeout=30_000)
    assert "Cancel all 5 unfinished mission(s)" in messages[0]
    wait_for(lambda: all(console.mission(i)["status"] == "cancelled" for i in ids), 30, what="all five cancelled")
    assert console.mission(bystander["id"])["status"] != "cancelled"
    page.locator(f'#missions tr[data-id="{ids[0]}"] .status-cancelled').wait_for(timeout=10_000)
    shot(page)
    console.request("POST", f"/api/missions/{bystander['id']}/cancel")


def test_a_narrow_window_has_no_sideways_scroll_and_the_keyboard_reaches_every_section(browser, console, shot):
    page = log_in(browser, console, "ada", "admin")
    page.set_viewport_size({"width": 390, "height": 800})
    for section in ("missions", "submit", "approvals", "pipelines", "rails", "system", "tenants"):
        page.goto(f"/console/#/{section}")
        page.locator("main h1").wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{section} scrolls sideways by {overflow}px"
    # Tab from the top: the skip link first, then the sections in order.
    page.goto("/console/#/missions")
    page.reload()  # a fresh load: the keyboard starts at the top of the page
    page.locator("#missions").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Submit"
    page.keyboard.press("Enter")
    page.locator("#submit-form").wait_for()
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('main input, main select, main textarea')]
           .filter((el) => el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label')).length"""
    )
    assert unlabelled == 0
    shot(page)


def test_the_console_is_served_with_a_strict_policy_and_no_outside_assets(console):
    resp = console.request("GET", "/console/", token=None, allow_redirects=False)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/console/login")
    login = console.request("GET", "/console/login", token=None)
    csp = login.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "form-action 'self'" in csp
    assert "http" not in re.sub(r'action="/console/login"', "", login.text)  # nothing from elsewhere
    js = console.request("GET", "/console/static/console.js", token=None)
    assert js.status_code == 200 and "innerHTML" not in js.text
    assert console.request("GET", "/console/static/index.html", token=None).status_code == 404
    assert uuid.UUID(console.submit("echo")["id"])  # the API still serves bearer tokens beside the console
