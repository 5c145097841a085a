"""Speed of one PDF inventory report of the small demo city (target: <= 20 s)."""

from __future__ import annotations

import time

import pytest


@pytest.mark.slow
def test_one_pdf_report_within_20_s(tmp_path, monkeypatch):
    from citycarbon.data.report_inputs import inventory_report
    from citycarbon.demo.pipeline import run_demo
    from citycarbon.reports.pdf import inventory_pdf

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    run_demo(enterprises=150, years=3)
    t0 = time.perf_counter()
    data = inventory_report(2024)
    path = inventory_pdf(data, tmp_path / "inv.pdf")
    seconds = time.perf_counter() - t0
    print(
        f"\ninventory PDF report 2024 (150-enterprise demo): {seconds:.2f} s, "
        f"{path.stat().st_size / 1e3:.0f} kB"
    )
    assert seconds <= 20
