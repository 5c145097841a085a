"""Carbon dual control as a service: catalog history, warnings log, webhook and e-mail to real
local servers, the scheduler, the after-ingest hook, and the inventory results as input."""

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
from citycarbon.contract.results import CITY_INDICATORS, CITY_INVENTORY, TARGET_PROGRESS
from citycarbon.runs import targets as service
from citycarbon.runs.targets import DATA_DIR
from citycarbon.runs.targets_inputs import load_actuals
from citycarbon.store import catalog
from citycarbon.store import results as store_results
from citycarbon.store import targets as targets_store
from citycarbon.store.models import WarningLog


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


def test_inventory_results_are_preferred_when_present(home):
    lake = get_settings().lake
    common = {"factor_profile": "xiamen@test", "method": "inventory", "source_batches": ""}
    rows = []
    for year, total in ((2022, 1000.0), (2023, 1010.0)):
        for basis, extra in (("territorial", 0.0), ("incl_net_imported_electricity", 200.0)):
            rows.append(
                {
                    "region_code": "350200",
                    "level": "city",
                    "entity_code": "350200",
                    "entity_name": "厦门市",
                    "year": year,
                    "month": None,
                    "sector": "1.A.2",
                    "sector_name_zh": "制造业和建筑业",
                    "gas": "CO2",
                    "scope": 1,
                    "basis": basis,
                    "emissions_t": total + extra,
                    "emissions_tco2e": total + extra,
                    "notation_key": "",
                    **common,
                }
            )
    inv = pd.DataFrame(rows)
    inv["month"] = inv["month"].astype("float64")
    ind = pd.DataFrame(
        {
            "region_code": "350200",
            "period_type": "year",
            "year": [2022, 2023],
            "period": ["2022", "2023"],
            "indicator": "intensity_tco2e_per_10k_cny",
            "basis": "incl_net_imported_electricity",
            "value": [0.5, 0.48],
            "unit": "tCO2e/10^4 CNY",
            **common,
        }
    )
    with store_results.transaction("20240101T000000Z-test01", lake=lake):  # one run
        store_results.write(CITY_INVENTORY, inv)
        store_results.write(CITY_INDICATORS, ind)
    a = load_actuals()
    assert a.source == "city_inventory"
    obs = a.observations.set_index(["level", "entity_code", "indicator", "year"])["value"]
    assert obs[("city", "350200", "total_ghg_tco2e", 2023)] == pytest.approx(1210.0)
    assert obs[("city", "350200", "intensity_tco2e_per_10k_cny", 2023)] == pytest.approx(0.48)
    assert "20240101T000000Z-test01" in a.provenance["city_inventory"]["run_id"].split("+")
    r = service.recompute(load_city(), notify=False)
    city = r.progress[r.progress["code"] == "xm-14fyp-co2-intensity"].set_index("year")
    assert city.loc[2023, "actual_decline_pct"] == pytest.approx(4.0)
