"""The report in a real headless browser (Debian's chromium through chromedriver), offline.

Loads results/<cohort>/report.html of a small synthetic run with the network switched
off, and checks that the page requests nothing but itself, logs no console error, lays
out every figure, and saves a full-page screenshot to test-artifacts/ for people to look
at. Skipped, with the reason, where chromium or chromedriver is not installed (the test
command installs both when it runs as root on Debian).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
]

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="headless browser test skipped: Debian's chromium and chromium-driver are not"
        " installed (python3 tasks.py test installs them when run as root)",
    ),
]


@pytest.fixture(scope="module")
def report(run_workflow, tmp_path_factory) -> Path:
    """The report of a small synthetic run, made by the workflow."""
    workdir = tmp_path_factory.mktemp("browser")
    run = run_workflow(workdir, synthetic={"n": 500, "seed": 5})
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir / "results" / "synthetic" / "report.html"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_network_conditions(
        offline=True, latency=0, download_throughput=0, upload_throughput=0
    )
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def loaded(browser, report):
    browser.get(report.as_uri())
    return browser


def requested_urls(driver) -> set[str]:
    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    return urls


def test_page_requests_nothing_but_itself_and_logs_no_error(loaded, report):
    assert requested_urls(loaded) <= {report.as_uri()}
    errors = [e for e in loaded.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert "Serum magnesium and survival" in loaded.title


def test_every_figure_is_laid_out(loaded):
    sizes = loaded.execute_script(
        "return Array.from(document.querySelectorAll('svg')).map("
        "s => [s.getBoundingClientRect().width, s.getBoundingClientRect().height]);"
    )
    assert len(sizes) >= 4
    assert all(width > 100 and height > 100 for width, height in sizes)
    for section in ("summary", "flow", "km", "cox", "methods"):
        assert loaded.execute_script(f"return !!document.getElementById('{section}');")


def test_figures_have_accessible_names_and_selectable_text(loaded):
    from selenium.webdriver.common.by import By

    figures = loaded.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(figures) >= 4
    for svg in figures:
        assert svg.aria_role in ("img", "image")  # Chrome reports role="img" as image
        assert svg.accessible_name.strip()
    assert loaded.execute_script("return document.querySelectorAll('svg text').length") > 100


def test_printing_shows_each_risk_table_once(loaded):
    """The numbers under a KM figure are drawn in it: the table copy is not printed."""
    loaded.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        shown = loaded.execute_script(
            "return Array.from(document.querySelectorAll('details.figure-numbers'))"
            ".map(d => getComputedStyle(d).display);"
        )
    finally:
        loaded.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert shown and set(shown) == {"none"}


def test_the_answer_is_on_the_first_screen_and_figure_1_shows_each_arm(loaded):
    """At 1280 x 800, the headline box (primary HR within immunotherapy, the other arm,
    the interaction p and the verdict) ends within the first 800 pixels; Figure 1 holds a
    KM panel per arm, each with its own risk table."""
    loaded.set_window_size(1280, 800)
    loaded.execute_script("window.scrollTo(0, 0);")
    box = loaded.execute_script(
        "const r = document.querySelector('section.headline').getBoundingClientRect();"
        "return [r.top, r.bottom, window.innerWidth];"
    )
    assert 0 <= box[0] < box[1] <= 800 and box[2] >= 1200
    said = loaded.execute_script("return document.querySelector('section.headline').innerText;")
    assert "PFS (primary)" in said and "Interaction p" in said and "Immunotherapy" in said
    for endpoint in ("pfs", "os"):
        panels = loaded.execute_script(
            f"return document.querySelectorAll('#figure-km-{endpoint}-by-arm svg"
            f' g[id^="km-{endpoint}-by-arm-risk-table"]\').length;'
        )
        assert panels == 2, endpoint
    first = loaded.execute_script("return document.querySelector('figure').id;")
    assert first == "figure-km-pfs-by-arm"


def test_full_page_screenshot_is_saved(loaded):
    height = loaded.execute_script("return document.documentElement.scrollHeight")
    loaded.set_window_size(1280, height)
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "report-full-page.png"
    assert loaded.save_screenshot(str(target))
    assert target.stat().st_size > 50_000
