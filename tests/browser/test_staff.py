"""The main staff flow in Chromium: owner setup, log in, import (entries, then on-site paper scores), stratified
random assignment, QR login sheet, monitoring, grading preview, finalize, download the export."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from judging.settings import Settings
from tests.browser.conftest import LiveServer, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def office(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", accept_downloads=True)
    yield ctx
    ctx.close()


def _xlsx(rows: list[list[Any]], merges: tuple[str, ...] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _server_db(server: LiveServer) -> Settings:
    return Settings(var_dir=server.env["PODIUM_VAR_DIR"], database_url=server.env.get("PODIUM_DATABASE_URL", ""),
                    secret="x" * 40)


def _onsite_rows(server: LiveServer) -> list[list[Any]]:
    """Totals for every panel judge x entry of their venue (paper sheets), read from the server's database."""
    from sqlalchemy import select

    from judging.db.engine import Database
    from judging.db.models import Entry, PanelMember, Person
    from judging.staff.conflicts import conflicted_pairs

    async def main() -> list[list[Any]]:
        db = Database(_server_db(server), null_pool=True)
        try:
            async with db.read() as session:
                entries = (await session.execute(select(Entry).where(Entry.contest_id == 1))).scalars().all()
                members = (await session.execute(select(PanelMember, Person).join(
                    Person, Person.id == PanelMember.person_id))).all()
                conflicted = await conflicted_pairs(session, 1)
        finally:
            await db.dispose()
        rows = [["发表评分录入（纸质评分表）", None, None, None], ["成果编号", "评委姓名", "工作单位", "总分"]]
        for k, e in enumerate(sorted(entries, key=lambda e: e.code)):
            for j, (m, p) in enumerate(members):
                if m.venue_id == e.venue_id and (p.id, e.id) not in conflicted:
                    rows.append([e.code, p.name, p.organization, 70 + (k * 7 + j * 3) % 25 + 0.5 * (j % 2)])
        return rows

    # Playwright's sync API owns this thread's event loop: run the database read in another thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def test_staff_main_flow(live_server: LiveServer, office: Any) -> None:
    out = live_server.podium("users", "setup-link")
    token = out.strip().rsplit("/setup/", 1)[1]
    page = office.new_page()
    # Owner setup, then the contest dashboard.
    page.goto(f"{live_server.url}/setup/{token}")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", "a-long-pass-phrase")
    page.fill("input[name=password2]", "a-long-pass-phrase")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/staff$"))
    page.click("text=打开")
    page.wait_for_url(re.compile(r"/staff/contests/1$"))
    assert "工作步骤" in page.content()
    screenshot(page, "staff-01-dashboard")

    # A venue added by mistake is deleted again: the row's 删除 button asks first (dismissed: nothing happens), then
    # deletes it; a venue with entries and judges is refused with the reason.
    page.click("nav.tabs >> text=赛事设置")
    page.fill("input[name=code][placeholder=V4]", "V9")
    page.fill("input[name=name][placeholder='新分会场']", "误建分会场")
    page.click("button:has-text('添加分会场')")
    page.wait_for_url(re.compile(r"/setup\?msg=saved"))
    row = page.locator("tr", has=page.locator("input[name=code][value=V9]"))
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    row.locator("button.danger").click()
    assert asked and asked[0].startswith("删除分会场 V9"), asked
    page.wait_for_timeout(500)  # a submitted form would have navigated by now
    assert page.url.endswith("/setup?msg=saved") and page.locator("input[name=code][value=V9]").count() == 1
    page.once("dialog", lambda d: d.accept())
    row.locator("button.danger").click()
    page.wait_for_url(re.compile(r"/setup\?msg=deleted"))
    assert page.locator("input[name=code][value=V9]").count() == 0
    assert "已删除" in page.content()
    v1 = page.locator("tr", has=page.locator("input[name=code][value=V1]"))
    page.once("dialog", lambda d: d.accept())
    v1.locator("button.danger").click()
    page.wait_for_selector("p.error")
    assert "请先在分配页把它们移到其他分会场" in page.content()
    page.go_back()

    # Import three more entries from an ugly declaration-system export.
    page.click("nav.tabs >> text=导入")
    entries = _xlsx([
        ["2024年成果申报汇总表", None, None, None, None, None, None],
        ["成果 编号", "课题名称", "QC小组名称", "单位名称", "推荐单位", "成果类型", "课题类别"],
        ["２０２４－１０１", " 降低锅炉能耗 ", "德州热电QC小组", "德州热电公司", "德州市质量管理协会", "问题解决型",
         "现场型"],
        ["2024-102", "研制智能巡检装置", "聊城电力QC小组", "聊城电力公司", "聊城市质量管理协会", "创新型", "创新型"],
        ["2024-103", "提高焊接一次合格率", "滨州机械QC小组", "滨州机械厂", "滨州市质量管理协会", "问题解决型",
         "攻关型"],
    ], merges=("A1:G1",))
    page.set_input_files("#import-entries input[type=file]",
                         files=[{"name": "成果汇总.xlsx", "mimeType": "application/octet-stream", "buffer": entries}])
    page.click("#import-entries button[type=submit]")
    page.wait_for_selector("#import-commit")
    assert "表头在第 2 行" in page.content()
    page.click("#import-commit")
    page.wait_for_selector("#import-done")
    assert "新增 3 条" in page.content()
    screenshot(page, "staff-02-import")

    # Stratified random assignment with a recorded seed.
    page.click("nav.tabs >> text=分配")
    page.fill("#random-form input[name=seed]", "20240520")
    page.click("#assign-random")
    page.wait_for_url(re.compile(r"/assign\?msg=assigned"))
    assert "上次分配使用的随机种子：20240520" in page.content()
    screenshot(page, "staff-03-assign")

    # On-site paper sheets imported as on-site scores (the demo has none yet).
    page.click("nav.tabs >> text=导入")
    scores = _xlsx(_onsite_rows(live_server), merges=("A1:D1",))
    page.set_input_files("#import-reviews input[type=file]",
                         files=[{"name": "发表评分.xlsx", "mimeType": "application/octet-stream", "buffer": scores}])
    page.select_option("#import-reviews select[name=stage]", "onsite")
    page.click("#import-reviews button[type=submit]")
    page.wait_for_selector("#import-commit")
    page.click("#import-commit")
    page.wait_for_selector("#import-done")

    # Print the judges' QR sheet of venue V1 (opens in a new tab).
    page.click("nav.tabs >> text=二维码登录单")
    with office.expect_page() as popup:
        page.click("button[data-venue=V1]")
    sheet = popup.value
    sheet.wait_for_load_state()
    assert sheet.locator(".qr-card svg").count() == 6
    assert "评审组长" in sheet.content()
    screenshot(sheet, "staff-04-qr-sheet")
    sheet.close()

    # Monitoring (refreshes from JSON).
    page.click("nav.tabs >> text=现场监控")
    page.wait_for_selector("#mon-updated:has-text('更新于')")
    assert page.locator("#monitor article.venue").count() == 3
    screenshot(page, "staff-05-monitor")

    # Grading preview, then finalize.
    page.click("nav.tabs >> text=成绩认定")
    page.fill("#preview-form input[name=draws]", "200")
    page.click("#compute-preview")
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    assert "全部成果及计算说明" in page.content() and page.locator("svg.chart").count() == 3
    screenshot(page, "staff-06-preview")
    # Boundary review before approval: the first listed entry gets another grade with a reason, the rest keep
    # their computed grade.
    rows = page.locator("#boundary tr[data-boundary]")
    listed = rows.count()
    assert listed >= 1 and page.locator("#finalize").count() == 0
    assert "未作复核决定" in page.locator("#unreviewed").inner_text()
    for i in range(listed):
        row = page.locator("#boundary tr[data-boundary]").nth(i)
        if i == 0:
            pick = row.locator("select[name=grade]")
            pick.select_option(next(o for o in pick.locator("option").all_inner_texts() if o != pick.input_value()))
            row.locator("input[name=reason]").fill("评审委员会复议")
        with page.expect_navigation():
            row.locator("button[type=submit]").click()
    assert page.locator("#boundary .decision").count() == listed
    assert "改为" in page.locator("#boundary tr[data-boundary]").first.inner_text()
    screenshot(page, "staff-06b-boundary-review")
    page.click("#finalize")
    page.wait_for_url(re.compile(r"msg=finalized"))
    assert page.locator("#run-status").inner_text() == "已定稿"
    page.click("#verify")
    page.wait_for_selector("#verify-result")
    assert "核对通过" in page.content()
    page.go_back()

    # Download the grade list and open it.
    with page.expect_download() as dl:
        page.click("#dl-grades")
    download = dl.value
    assert download.suggested_filename.endswith(".xlsx") and "成绩等级名单" in download.suggested_filename
    wb = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    ws = wb["成果等级"]
    assert [c.value for c in ws[3]][:3] == ["排名", "成果编号", "成果名称"]
    codes = {row[1] for row in ws.iter_rows(min_row=4, values_only=True)}
    assert len(codes) == 33 and "2024-101" in codes
    screenshot(page, "staff-07-finalized")
