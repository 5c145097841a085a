"""Speed of one PDF inventory report of the full demo city (floor: <= 20 s, issue 5)."""

from __future__ import annotations

import time

import pytest


@pytest.mark.slow
def test_one_pdf_report_within_20_s(full_demo_copy, tmp_path):
    from citycarbon.reports.pdf import inventory_pdf
    from citycarbon.runs.reports import inventory_report

    t0 = time.perf_counter()
    data = inventory_report(2024)
    path = inventory_pdf(data, tmp_path / "inv.pdf")
    seconds = time.perf_counter() - t0
    print(
        f"\ninventory PDF report 2024 (full demo, 3,000 enterprises): {seconds:.2f} s, "
        f"{path.stat().st_size / 1e3:.0f} kB"
    )
    assert seconds <= 20
