"""The HTML report is one self-contained file whose SVG charts render in a real browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_samples import HASH_KEY, sample

from audit.html import as_html
from audit.recorder import AuditRecorder
from audit.report import Report, build_report
from store.audit import AuditStore
from store.config import AuditConfig
from store.db import Database

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
CHARTED = ("vendors", "kinds", "senders", "domains", "outcomes", "coverage")


async def sample_report(tmp_path: Path) -> Report:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    await db.upgrade("heads")
    recorder = AuditRecorder(db, HASH_KEY, AuditConfig())
    for item in sample():
        await recorder.delivered(item)
    await recorder.policy_event("loaded", "0123456789ab")
    now = datetime.now(UTC)
    report = await build_report(AuditStore(db), now - timedelta(days=7), now + timedelta(hours=1))
    await db.dispose()
    return report


async def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    report = await sample_report(tmp_path)
    report.section("reloads").rows.append(("now", "reload_failed", "v", "<script>x</script>"))
    page = as_html(report)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert not re.search(r"\b(src|href|url)\s*[=(]", page, re.IGNORECASE)
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(CHARTED)
    assert "Mailchimp" in page and "16.7%" in page


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium")
async def test_charts_render_in_headless_chromium(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    html = tmp_path / "report.html"
    html.write_text(as_html(await sample_report(tmp_path)), encoding="utf-8")
    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 800})
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(html.as_uri())
            charts = page.locator("svg.chart")
            assert await charts.count() == len(CHARTED)
            for n, key in enumerate(CHARTED):
                chart = charts.nth(n)
                assert await chart.get_attribute("data-section") == key
                box = await chart.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 20, key
                bars = chart.locator("rect.bar")
                assert await bars.count() > 0, key
                for b in range(await bars.count()):
                    bar = await bars.nth(b).bounding_box()
                    assert bar is not None and bar["width"] > 0 and bar["height"] > 0, key
            shot = tmp_path / "report.png"  # kept by pytest under its basetemp for review
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
    assert shot.stat().st_size > 20_000
    assert requested == [html.as_uri()]  # nothing fetched but the file itself
