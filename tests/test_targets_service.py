"""Carbon dual control as a service: catalog history, warnings log, webhook and e-mail to real
local servers, the scheduler, the after-ingest hook, the inventory results as input (CO2 on the
assessed basis, base-year values, district statistics), and key-enterprise warnings that
compare like with like."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from citycarbon.config import CONFIG_DIR, load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import CITY_INVENTORY, DUAL_CONTROL, TARGET_PROGRESS
from citycarbon.ingest.loader import ingest
from citycarbon.runs import targets as service
from citycarbon.runs.targets import DATA_DIR
from citycarbon.runs.targets_inputs import load_actuals
from citycarbon.store import catalog
from citycarbon.store import results as store_results
from citycarbon.store import targets as targets_store
from citycarbon.store.models import WarningLog
from citycarbon.targets import targets as tg
from citycarbon.targets import warnings as wn


@pytest.fixture
def home(small_demo_dir, tmp_path, monkeypatch) -> Path:
    h = tmp_path / "h"
    shutil.copytree(small_demo_dir, h)
    monkeypatch.setenv("CITYCARBON_HOME", str(h))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return h


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    messages: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append(envelope)
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, messages
    controller.stop()


def _city(tmp_path: Path, notify: dict | None = None, **targets) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "xiamen.yaml").read_text("utf-8"))
    raw["boundaries"] = None
    spec = tmp_path / "targets.yaml"
    shutil.copy(DATA_DIR / "xiamen_targets.yaml", spec)
    raw["targets"].update({"file": str(spec), "notify": notify or {}, **targets})
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


def _clear_log() -> None:
    """The demo's after-ingest hook logged the warnings already: start this copy with none."""
    assert len(targets_store.warnings_frame()) > 0
    with catalog.session_scope() as s:
        s.execute(sa.delete(WarningLog))


def test_recompute_logs_notifies_once_and_keeps_target_history(home, tmp_path, webhook, smtp):
    url, received = webhook
    port, messages = smtp
    notify = {
        "min_level": "yellow",
        "webhook": url,
        "email": {
            "host": "127.0.0.1",
            "port": port,
            "from": "carbon@xm.test",
            "to": ["office@xm.test"],
        },
    }
    cfg = load_city(_city(tmp_path, notify))
    _clear_log()
    r = service.recompute(cfg)
    assert r.source in ("city_inventory", "enterprise_fallback")
    assert len(r.logged) > 0 and set(r.logged["level"]) <= {"yellow", "red"}
    assert r.notified == {"webhook": "ok", "email": "ok"}
    # the webhook got exactly the logged warnings, as JSON
    assert len(received) == 1
    assert {w["rule_id"] for w in received[0]["warnings"]} == set(r.logged["rule_id"])
    assert len(received[0]["warnings"]) == len(r.logged)
    assert received[0]["run_id"] == r.run_id
    # one e-mail, UTF-8, with the Chinese messages
    assert len(messages) == 1
    text = messages[0].content.decode("utf-8", "replace")
    assert "office@xm.test" in messages[0].rcpt_tos
    assert "=?utf-8?" in text.lower() or "预警" in text
    log = targets_store.warnings_frame()
    assert len(log) == len(r.logged)
    assert (log["notified_via"] == "webhook,email").all()
    # the log and the lake result agree on the red intensity warning of the city
    city = r.status[
        (r.status["subject"] == "xm-14fyp-co2-intensity")
        & (r.status["rule_id"] == "intensity_behind_schedule")
    ]
    assert city["level"].iloc[0] == ("red" if city["value"].iloc[0] < -2 else city["level"].iloc[0])

    # same inputs again: nothing new is logged or sent
    r2 = service.recompute(cfg)
    assert len(r2.logged) == 0 and r2.notified == {}
    assert len(received) == 1 and len(messages) == 1

    # a changed target makes version 2; version 1 stays with its valid_to, and is audited
    spec = Path(cfg.targets.file)
    data = yaml.safe_load(spec.read_text("utf-8"))
    data["targets"][0]["target_value"] = 19.5
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    service.recompute(cfg, actor="tester", notify=False)
    hist = targets_store.targets_frame(history=True)
    versions = hist[hist["code"] == "xm-14fyp-co2-intensity"].sort_values("version")
    assert list(versions["version"]) == [1, 2]
    assert versions["valid_to"].iloc[0] is not None and pd.isna(versions["valid_to"].iloc[1])
    assert list(versions["target_value"]) == [18.0, 19.5]
    audit = catalog.registry_frame("audit_log")
    upd = audit[(audit["entity"] == "targets") & (audit["action"] == "update")]
    assert len(upd) == 1 and upd["actor"].iloc[0] == "tester"
    assert upd["before"].iloc[0]["target_value"] == 18.0
    assert upd["after"].iloc[0]["target_value"] == 19.5
    annual = targets_store.annual_frame()
    v2 = annual[annual["target_id"] == int(versions["target_id"].iloc[1])]
    assert sorted(v2["year"]) == list(range(2020, 2026))


def test_a_failing_channel_is_recorded_not_raised(home, tmp_path):
    cfg = load_city(_city(tmp_path, {"webhook": f"http://127.0.0.1:{_free_port()}/none"}))
    _clear_log()
    r = service.recompute(cfg)
    assert r.notified["webhook"].startswith("error")
    log = targets_store.warnings_frame()
    assert log["notify_error"].str.contains("webhook").all()


def test_scheduler_runs_the_recompute_job(home, tmp_path):
    cfg = load_city(_city(tmp_path, schedule="0 3 * * *"))
    scheduler = service.start_scheduler(cfg)
    try:
        job = scheduler.get_job(service.JOB_ID)
        assert str(job.trigger).startswith("cron[") and "hour='3'" in str(job.trigger)
        assert job.next_run_time.hour == 3
        job.modify(next_run_time=datetime.now(UTC))  # run it now, on the scheduler's thread
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not store_results.has(TARGET_PROGRESS):
            time.sleep(0.1)
        assert store_results.has(TARGET_PROGRESS)
    finally:
        scheduler.shutdown()


def _city_rows(year: int, co2: float, extra: list[tuple[str, str, float]]) -> list[dict]:
    common = {"factor_profile": "xiamen@test", "method": "inventory", "source_batches": ""}
    out = []
    for sector, gas, value in [("1.A.2", "CO2", co2), *extra]:
        out.append(
            {
                "region_code": "350200",
                "level": "city",
                "entity_code": "350200",
                "entity_name": "厦门市",
                "year": year,
                "month": None,
                "sector": sector,
                "sector_name_zh": "",
                "sector_name_en": "",
                "gas": gas,
                "scope": 2 if sector.startswith("S2") else 1,
                "basis": "incl_net_imported_electricity",
                "emissions_t": value,
                "emissions_tco2e": value * (28.0 if gas == "CH4" else 1.0),
                "notation_key": "",
                **common,
            }
        )
    return out


def test_assessed_co2_from_the_inventory_with_process_co2_apart(home, tmp_path):
    """The assessed total is CO2 of energy activity (1.A + S2.1 net imported electricity), not
    total GHG; process CO2 is added only where the city config says so; the intensity is over
    the comparable-price GDP of the statistics, and progress runs from the entered 2020 base."""
    lake = get_settings().lake
    rows = []
    for year, co2 in ((2022, 1000.0), (2023, 1010.0)):
        rows += _city_rows(year, co2, [("S2.1", "CO2", 200.0), ("1.A.2", "CH4", 1.0)])
        rows += _city_rows(year, 0.0, [("2.A.1", "CO2", 100.0)])[1:]
    inv = pd.DataFrame(rows)
    inv["month"] = inv["month"].astype("float64")
    with store_results.transaction("20240101T000000Z-test01", lake=lake):  # one run
        store_results.write(CITY_INVENTORY, inv)
    a = load_actuals(cfg=load_city(), base_years=_base_years())
    assert a.source == "city_inventory"
    ind = a.indicators[a.indicators["level"] == "city"].set_index(["indicator", "year"])
    # 1010 (1.A.2) + 200 (S2.1) = 1210 t; GHG adds CH4 1 t x 28 and the process CO2 100 t
    assert ind.at[("co2_t", 2023), "value"] == pytest.approx(1210.0)
    assert ind.at[("process_co2_t", 2023), "value"] == pytest.approx(100.0)
    assert ind.at[("total_ghg_tco2e", 2023), "value"] == pytest.approx(1210.0 + 28.0 + 100.0)
    assert ind.at[("total_ghg_tco2e", 2023), "role"] == "reported"
    gdp = ind.at[("gdp_10k_cny", 2023), "value"]  # the demo's 2023 GDP at 2020 prices
    assert gdp == pytest.approx(7428.0999e4, rel=1e-6)
    assert ind.at[("co2_intensity_t_per_10k_cny", 2023), "value"] == pytest.approx(1210.0 / gdp)
    assert ind.at[("co2_t", 2020), "origin"] == "entered"
    assert "20240101T000000Z-test01" in a.provenance["city_inventory"]["run_id"].split("+")
    with_process = _city(tmp_path, include_process_co2=True)
    b = load_actuals(cfg=load_city(with_process), base_years=_base_years())
    got = b.indicators.set_index(["entity_code", "indicator", "year"])["value"]
    assert got[("350200", "co2_t", 2023)] == pytest.approx(1310.0)
    # progress of the city's intensity target: from the entered 2020 base 2.36e7 t / 6384 亿元
    r = service.recompute(load_city(), notify=False)
    city = r.progress[r.progress["code"] == "xm-14fyp-co2-intensity"].set_index("year")
    base = 2.36e7 / 6.384e7
    assert city.loc[2023, "base_value"] == pytest.approx(base)
    assert city.loc[2023, "base_source"] == "entered"
    assert city.loc[2023, "base_status"] == "illustrative"
    assert city.loc[2023, "actual_decline_pct"] == pytest.approx(100 * (1 - 1210.0 / gdp / base))


def _base_years() -> list[dict]:
    return yaml.safe_load((DATA_DIR / "xiamen_targets.yaml").read_text("utf-8"))["base_years"]


def test_no_base_year_value_no_progress(home, tmp_path):
    """Without a base-year value (none entered, no 2020 data) progress is missing and says so;
    it is not measured from the first year with data."""
    path = _city(tmp_path)
    spec = Path(load_city(path).targets.file)
    data = yaml.safe_load(spec.read_text("utf-8"))
    data.pop("base_years")
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    r = service.recompute(load_city(path), notify=False)
    city = r.progress[r.progress["code"] == "xm-14fyp-co2-intensity"]
    assert len(city) and (city["base_source"] == "missing").all()
    assert city["value"].notna().all() and city["actual_decline_pct"].isna().all()
    assert city["scheduled_decline_pct"].isna().all()
    note = city["base_note"].iloc[0]
    assert note.startswith("no_base?") and "year=2020" in note
    lamps = r.status[r.status["subject"] == "xm-14fyp-co2-intensity"]
    assert lamps.empty  # nothing to evaluate, no lamp


def test_district_intensity_needs_district_statistics(home, tmp_path):
    """A district's intensity comes from its own statistics; the reporting enterprises give only
    their coverage of the city (the old 0.0044 of 思明 = reporters over the whole district GDP)."""
    r = service.recompute(load_city(), notify=False)
    dc = store_results.current(DUAL_CONTROL)
    siming = dc[(dc["level"] == "district") & (dc["entity_code"] == "350203")]
    by = siming.set_index(["indicator", "year"])
    assert ("co2_intensity_t_per_10k_cny", 2024) not in by.index
    assert by.at[("coverage_share", 2024), "note"] == "no_district_statistics"
    inv = store_results.current(CITY_INVENTORY)
    inv = inv[inv["month"].isna() & (inv["basis"] == "incl_net_imported_electricity")]
    energy = inv["sector"].str.match(r"^(1\.|S2\.)") & (inv["gas"] == "CO2")
    d = inv[energy & (inv["level"] == "district") & (inv["entity_code"] == "350203")]
    c = inv[energy & (inv["level"] == "city")]
    reporters = d[d["year"] == 2024]["emissions_t"].sum()
    assert by.at[("reporters_co2_t", 2024), "value"] == pytest.approx(reporters)
    assert by.at[("coverage_share", 2024), "value"] == pytest.approx(
        reporters / c[c["year"] == 2024]["emissions_t"].sum()
    )
    target = r.progress[r.progress["code"] == "xm-14fyp-intensity-350203"]
    assert target.empty  # no district CO2 statistics: nothing to measure the target on
    # the district's statistics, ingested like any city_statistics (二氧化碳排放量, 万吨)
    f = tmp_path / "district_co2.csv"
    pd.DataFrame(
        {
            "行政区划代码": "350203",
            "年份": [2022, 2023, 2024],
            "指标": "二氧化碳排放量",
            "数值": [350.0, 355.0, 360.0],
            "单位": "万吨",
        }
    ).to_csv(f, index=False)
    assert ingest("city_statistics", f, created_by="test").status == "committed"
    r = service.recompute(load_city(), notify=False)
    dc = store_results.current(DUAL_CONTROL)
    by = dc[(dc["level"] == "district") & (dc["entity_code"] == "350203")].set_index(
        ["indicator", "year"]
    )
    gdp = by.at[("gdp_10k_cny", 2024), "value"]
    assert gdp == pytest.approx(2502.8707e4, rel=1e-6)  # 思明 2024 at 2020 prices (demo)
    assert by.at[("co2_t", 2024), "value"] == pytest.approx(3.6e6)
    assert by.at[("co2_t", 2024), "origin"] == "statistics"
    assert by.at[("co2_intensity_t_per_10k_cny", 2024), "value"] == pytest.approx(3.6e6 / gdp)
    target = r.progress[r.progress["code"] == "xm-14fyp-intensity-350203"].set_index("year")
    assert target.loc[2024, "value"] == pytest.approx(3.6e6 / gdp)
    assert target.loc[2024, "base_source"] == "missing"  # no 2020 value of the district


def test_key_enterprises_after_the_spring_festival_compare_with_last_year(home):
    """March after the February holiday: each key enterprise against March of last year and its
    year to date against last year's, January and February as one period — no red lamp in the
    demo, where month-on-month read the rebound as jumps."""
    a = load_actuals(cfg=load_city())
    key = a.enterprise_monthly[a.enterprise_monthly["is_key"]]
    assert key["entity_code"].nunique() >= 10
    rules = service.load_rules()
    assert rules.merge_months == (1, 2)
    metrics = service.status_metrics(pd.DataFrame(), key, rules.merge_months)
    latest = wn.evaluate(metrics, rules.frame)
    assert set(latest["rule_id"]) == {"enterprise_yoy_jump", "enterprise_ytd_over_path"}
    yoy = tg.year_on_year(key[["entity_code", "year", "month", "value"]], rules.merge_months)
    for period in ("2024-01..02", "2024-03"):
        p = yoy[yoy["period"] == period]
        long = pd.concat(
            [
                p.assign(metric=m, value=p[m], previous=p[prev], subject=p["entity_code"])
                for m, prev in service.ENTERPRISE_METRICS.items()
            ]
        ).assign(applies="key_enterprise")
        levels = wn.evaluate(long, rules.frame)["level"]
        assert len(levels) and (levels != "red").all(), period
