"""The dashboard in a real browser (Debian's headless Chromium driven by selenium) against
the real stack: RabbitMQ, PostgreSQL, every service as a process, 4 virtual GPU workers
and a short replayed nb201 search. Everything is read from the DOM and compared with
what the API says; screenshots of every page at laptop and phone width go to the test's
output (`screenshots/`; the README's copies are in docs/img/).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from cenas_cli.demo import _Vanilla
from cenas_cli.up import READY_FILE_SERVICES
from cenas.db import make_engine
from cenas.db.searches import Search, SearchStatus
from cenas.readiness import is_ready
from cenas.work import make_celery
from tests.integration.runtime.conftest import free_port, running, wait_for
from gateway.auth import create_api_key
from tests.integration.runtime.test_gateway_e2e import all_pages, ready

pytestmark = pytest.mark.integration
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
GPUS, HOURS = 4, 8
SPEC = {"name": "dashboard-e2e", "task": {"kind": "nb201"}, "gpus": GPUS, "budget": {"hours": HOURS},
        "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": 1.5},
        "policy": "heuristic", "accounting": "full"}
#: laptop and phone viewports (CSS pixels)
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
#: Chromium must not try the network on its own: this machine refuses anything but loopback
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
                  "--disable-dev-shm-usage", "--window-size=1280,800")

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip("needs Debian's chromium and chromium-driver (`apt-get install -y chromium chromium-driver`; .ci/run does)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402 - only once the browser is known to exist
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def stack(stack_env, stack_settings, tmp_path_factory):
    """The stack with one search run to its settled end; yields what the tests need."""
    logs = tmp_path_factory.mktemp("dashboard-logs")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**stack_env, "CENAS_GATEWAY_PORT": str(port), "CENAS_GATEWAY_URL": url, "CENAS_FORECASTER_REGIONS": "US-CAL-CISO"}
    engine = make_engine(stack_settings)
    with Session(engine) as session:  # searches other tests left queued would run first (FIFO pool)
        for row in session.exec(select(Search).where(Search.status.in_([SearchStatus.QUEUED, SearchStatus.RUNNING]))).all():
            row.status = SearchStatus.CANCELLED
            session.add(row)
        session.commit()
    # in process, not `cenas keys create` (tested elsewhere): two CLI start-ups cost ~10 s here
    (_, owner), (_, stranger) = create_api_key(engine, name="dashboard-owner"), create_api_key(engine, name="dashboard-stranger")
    engine.dispose()
    services = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker.pool_service", "gateway")
    with running(env, logs, *services, virtual_gpus=GPUS) as procs:
        celery = make_celery(stack_settings)
        wait_for(lambda: ready(url), timeout=180, what="the gateway to be ready")
        wait_for(lambda: all(is_ready(stack_settings.data_dir, name, procs[name].pid) for name in READY_FILE_SERVICES),
                 timeout=180, what="the services' ready files")
        wait_for(lambda: len(celery.control.ping(timeout=1.0) or []) == GPUS, timeout=180, what=f"{GPUS} workers to answer")
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {owner}"}, timeout=30)
        created = http.post("/v1/searches", json=SPEC)
        assert created.status_code == 201, created.text
        search_id = created.json()["id"]
        # what `cenas demo` does beside its search: simulate vanilla NAS on the same setting and store the curve
        vanilla = _Vanilla(http.get(f"/v1/searches/{search_id}").raise_for_status().json()["spec"], stack_settings, search_id)
        vanilla.start()
        yield {"url": url, "owner": owner, "stranger": stranger, "search_id": search_id, "http": http, "procs": procs,
               "gateway_log": logs / "gateway.log", "vanilla": vanilla}
        http.close()


def settled(stack) -> dict:
    http, search_id = stack["http"], stack["search_id"]

    def done():
        assert all(p.poll() is None for p in stack["procs"].values()), {n: p.returncode for n, p in stack["procs"].items()}
        body = http.get(f"/v1/searches/{search_id}").raise_for_status().json()
        return body if body["status"] in ("succeeded", "failed", "cancelled") and body["settled_at"] else None

    search = wait_for(done, timeout=HOURS * 1.5 + 120, interval=0.5, what="the search to finish and settle")
    assert search["status"] == "succeeded", search["error"]
    return search


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile, recording every URL it requests."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.visited = []  # every URL the browser requested, from the DevTools network log
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def requested_urls(driver) -> list[str]:
    """URLs requested since the last call (and the ones seen before), from the network log."""
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            driver.visited.append(message["params"]["request"]["url"])
    return driver.visited


def until(driver, condition, timeout: float = 30):
    """Wait for ``condition``; the page redraws on every poll, so elements go stale meanwhile."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(condition)


def wait(driver, css: str, timeout: float = 30):
    return until(driver, EC.presence_of_element_located((By.CSS_SELECTOR, css)), timeout)


def click(driver, css: str) -> None:
    """Click ``css``, finding it afresh if a redraw replaced it meanwhile."""
    def once(d):
        d.find_element(By.CSS_SELECTOR, css).click()
        return True
    until(driver, once, 10)


def read(driver, css: str, attribute: str) -> str:
    """An attribute of ``css`` (the page redraws while a search runs: read it afresh)."""
    return until(driver, lambda d: d.find_element(By.CSS_SELECTOR, css).get_attribute(attribute) or "", 10)


def count(driver, css: str) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, css))


def screenshot(driver, folder: Path, name: str) -> None:
    """The page at each width, as tall as its content (capped), after the page redrew its charts."""
    requested_urls(driver)  # drain the network log as we go
    for label, (width, height) in SIZES.items():
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                                      "mobile": label == "phone"})
        time.sleep(0.5)  # the page redraws its charts 150 ms after a resize
        tall = min(int(driver.execute_script("return document.documentElement.scrollHeight")), 3200)
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                                 "clip": {"x": 0, "y": 0, "width": width, "height": tall, "scale": 1}})
        (folder / f"dashboard-{name}-{label}.png").write_bytes(base64.b64decode(shot["data"]))
        assert driver.execute_script("return document.documentElement.scrollWidth") <= width + 1, f"{name} scrolls sideways at {label} width"
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    time.sleep(0.5)  # and once more at the window's own size


def sign_in(driver, url: str, key: str) -> None:
    """Open the gateway's address, forget any key this tab holds, type ``key``."""
    driver.get(f"{url}/")
    wait(driver, "#sign-out")
    if driver.find_element(By.CSS_SELECTOR, "#sign-out").is_displayed():
        driver.find_element(By.CSS_SELECTOR, "#sign-out").click()
    field = wait(driver, "#api-key")
    WebDriverWait(driver, 10).until(lambda d: field.is_displayed())
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-submit").click()


def test_the_owner_follows_the_search_live_and_sees_its_figures(stack, browser, shots):
    url, search_id = stack["url"], stack["search_id"]
    browser.get(f"{url}/ui")
    wait(browser, "#api-key")
    screenshot(browser, shots, "sign-in")
    sign_in(browser, url, stack["owner"])
    row = f"tr.search-row[data-search-id='{search_id}']"
    wait(browser, row)
    assert "dashboard-e2e" in read(browser, row, "textContent") and read(browser, row, "data-status") in ("queued", "running", "succeeded")
    screenshot(browser, shots, "searches")

    click(browser, f"{row} a")
    wait(browser, "#totals")
    assert browser.current_url.endswith(f"/ui#/search/{search_id}")
    live = read(browser, "#page-title .status", "data-status")
    if live in ("queued", "running"):  # the replay takes 12 s: catch it under way
        until(browser, lambda d: count(d, "g.split-bar") >= 2 or count(d, "#search-live") == 0)
        screenshot(browser, shots, "search-running")

    search = settled(stack)
    http = stack["http"]
    assert stack["vanilla"].outcome() is not None
    browser.refresh()  # the page stops polling once the totals are final, and the simulation may have ended after that
    wait(browser, "#totals")
    curve = http.get(f"/v1/searches/{search_id}/curve").raise_for_status().json()
    baseline = curve["baseline"]
    assert baseline is not None and baseline["available"] and baseline["hours"] == HOURS
    pareto = http.get(f"/v1/searches/{search_id}/pareto").raise_for_status().json()
    decisions = all_pages(http, f"/v1/searches/{search_id}/decisions")
    evaluations = all_pages(http, f"/v1/searches/{search_id}/evaluations")
    # the page keeps polling until the totals are final, then shows what the API says
    until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#page-title .status").get_attribute("data-status") == "succeeded"
                                     and count(d, "circle.pareto-point") == len(pareto["points"]) and count(d, "g.split-bar") == len(decisions)
                                     and d.find_element(By.CSS_SELECTOR, "[data-total=evaluations] dd").text == str(search["progress"]["evaluations"]))
    time.sleep(2.5)  # one more poll after `settled_at`: nothing may change any more
    assert count(browser, "circle.pareto-point") == len(pareto["points"]) > 0
    titles = {e.get_attribute("data-architecture") for e in browser.find_elements(By.CSS_SELECTOR, "circle.pareto-point")}
    assert titles == {p["architecture"] for p in pareto["points"]}
    hover = browser.find_element(By.CSS_SELECTOR, "circle.pareto-point title").get_attribute("textContent")
    assert hover.startswith("|") and "accuracy (%)" in hover
    assert count(browser, "g.split-bar") == len(decisions) == count(browser, "rect.forecast-band") >= HOURS
    for bar, decision in zip(browser.find_elements(By.CSS_SELECTOR, "g.split-bar"), decisions):
        gpus = {r.get_attribute("class").removeprefix("role-"): int(r.get_attribute("data-gpus")) for r in bar.find_elements(By.CSS_SELECTOR, "rect")}
        assert gpus == {role: decision[f"gpus_{role}"] for role in ("evaluation", "sampling", "idle") if decision[f"gpus_{role}"]}
    for chart in ("#chart-hv-hours", "#chart-hv-carbon", "#chart-pareto", "#chart-signal", "#chart-split"):
        labels = [t.get_attribute("textContent") for t in browser.find_elements(By.CSS_SELECTOR, f"{chart} .axis-label")]
        assert len(labels) == 2 and all("(" in t for t in labels), (chart, labels)  # a unit on every axis
    # vanilla NAS, simulated on the same setting, beside the search: over the search's hours, and
    # on the carbon axis up to where it reaches the search's hypervolume (or its whole run)
    own_hours = curve["points"][-1]["hours"]
    assert read(browser, "#chart-hv-hours-vanilla", "data-points") == str(sum(q["hours"] <= own_hours + 1e-9 for q in baseline["points"]))
    reach = next((q for q in baseline["points"] if q["hypervolume"] >= search["progress"]["hypervolume"]), None)
    drawn = [q for q in baseline["points"] if q["carbon_g"] <= reach["carbon_g"]] if reach else baseline["points"]
    assert read(browser, "#chart-hv-carbon-vanilla", "data-points") == str(len(drawn))
    vanilla_total = browser.find_element(By.CSS_SELECTOR, "[data-total=vanilla] dd").text
    assert (f"{reach['carbon_g']:,.0f} gCO2eq" in vanilla_total) if reach else vanilla_total.startswith("not reached")
    assert count(browser, ".legend .swatch.vanilla") == 2
    assert browser.find_element(By.CSS_SELECTOR, "#evaluations-total").get_attribute("data-total") == str(len(evaluations))
    assert count(browser, "tr.evaluation-row") == min(20, len(evaluations))
    assert count(browser, "#cancel") == 0  # a finished search cannot be cancelled
    screenshot(browser, shots, "search")

    # sortable: accuracy descending puts the best evaluated architecture first
    click(browser, "th button[data-sort='obj:accuracy']")
    click(browser, "th button[data-sort='obj:accuracy']")
    best = max(evaluations, key=lambda e: e["objectives"]["accuracy"])
    assert browser.find_element(By.CSS_SELECTOR, "tr.evaluation-row").get_attribute("data-code") == str(best["code"])
    if len(evaluations) > 20:  # paginated
        click(browser, "#evaluations-next")
        assert count(browser, "tr.evaluation-row") == min(20, len(evaluations) - 20)

    browser.get(f"{url}/ui#/forecasts")
    wait(browser, "section.forecast[data-region='US-CAL-CISO'] svg.chart")
    screenshot(browser, shots, "forecasts")


def test_cancel_from_the_page_shows_the_cancelled_state(stack, browser, shots):
    settled(stack)  # the first search has ended: this one starts at once
    created = stack["http"].post("/v1/searches", json={**SPEC, "name": "dashboard-cancel", "budget": {"hours": 200}}).raise_for_status().json()
    browser.get(f"{stack['url']}/ui#/search/{created['id']}")
    wait(browser, "#cancel")
    browser.execute_script("document.getElementById('cancel').focus()")
    browser.switch_to.active_element.send_keys(Keys.ENTER)  # the keyboard, not a click
    until(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "cancel-confirm", 5)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, "#search-cancelled")
    assert read(browser, "#page-title .status", "data-status") == "cancelled"
    assert stack["http"].get(f"/v1/searches/{created['id']}").json()["status"] == "cancelled"
    screenshot(browser, shots, "search-cancelled")


def test_a_second_owner_sees_nothing_of_the_first(stack, browser, shots):
    search_id = stack["search_id"]
    sign_in(browser, stack["url"], stack["stranger"])
    wait(browser, "#searches-empty")
    assert count(browser, "tr.search-row") == 0 and search_id not in browser.page_source
    screenshot(browser, shots, "searches-empty")
    browser.get(f"{stack['url']}/ui#/search/{search_id}")
    wait(browser, "#search-missing")
    assert count(browser, "circle.pareto-point") == 0 and count(browser, "g.split-bar") == 0 and "dashboard-e2e" not in browser.page_source


def test_the_key_is_in_no_url_page_or_log(stack, browser, shots):
    """Runs last: everything the other tests made the browser and the gateway do is checked."""
    owner, stranger = stack["owner"], stack["stranger"]
    browser.get(f"{stack['url']}/ui")
    sign_in(browser, stack["url"], owner)
    wait(browser, "tr.search-row")
    urls = requested_urls(browser)
    assert any("/v1/searches" in u for u in urls) and any(u.endswith("/ui/static/app.js") for u in urls)
    # over the network, only the gateway (chrome:// pages are the browser's own, loaded from disk)
    assert not [u for u in urls if u.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp") and not u.startswith(stack["url"] + "/")]
    for key in (owner, stranger):
        assert not [u for u in urls if key in u] and key not in browser.current_url
        assert key not in browser.page_source
        assert key not in browser.execute_script("return document.documentElement.outerHTML")
    # the key is where it belongs: this tab's sessionStorage, nowhere persistent
    assert browser.execute_script("return sessionStorage.getItem('cenas.apiKey')") == owner
    assert browser.execute_script("return window.localStorage.length") == 0
    log = stack["gateway_log"].read_text()
    assert '"GET /ui HTTP/1.1" 200' in log and "/v1/searches" in log  # the access log is on and saw the page's calls
    assert owner not in log and stranger not in log
    for line in browser.get_log("browser"):  # nor in the console
        assert owner not in line["message"] and stranger not in line["message"]
    print(f"screenshots in {shots}")
