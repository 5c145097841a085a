"""Energy-efficiency benchmarking against 标杆水平 / 基准水平 (rating/benchmarks.py): hand-computed
unit energies, the position at every boundary, single-product assessment, output shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from citycarbon.rating import benchmarks as bm
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


def test_levels_file_is_checked_and_labelled():
    levels = bm.load_benchmarks()
    t = levels.table
    assert levels.label == "ndrc-2023-723@2023.2" and "723号" in levels.title_zh
    assert (t["benchmark"] <= t["baseline"]).all()
    assert set(t["source_status"]) <= set(bm.SOURCE_STATUSES)
    # 2023.2: no row read in the document itself; each agrees with a named published source
    assert set(t["source_status"]) == {"corroborated"} and t["checks"].map(len).min() >= 1
    assert t["clause_zh"].str.contains("·").all()
    # every level unit has its display name in both catalogs (the page never shows a raw key)
    import yaml

    for lang in ("zh", "en"):
        names = yaml.safe_load(
            (Path(bm.__file__).parents[1] / "web" / "i18n" / f"{lang}.yaml").read_text(
                encoding="utf-8"
            )
        )["units"]
        for unit in set(t["unit"]):
            assert unit.replace("/", "_per_").replace(" ", "_") in names, (lang, unit)
    clinker = t.set_index("id").loc["cement_clinker"]
    assert (clinker["benchmark"], clinker["baseline"], clinker["unit"]) == (100, 117, "kgce/t")
    levels_of = t.set_index("id")[["benchmark", "baseline"]].T.to_dict("list")
    # GB 16780-2021 / GB 21340-2019 / GB 21342-2025 grades 1 and 3; 723号 per a transcription
    assert levels_of == {
        "cement_clinker": [100, 117],
        "flat_glass": [8.0, 12.0],
        "blast_furnace_iron": [361, 435],
        "bof_steel": [-30, -10],
        "coke_top_charged": [110, 135],
    }


def test_a_row_without_its_checks_or_with_the_old_status_is_refused(tmp_path):
    import yaml

    from citycarbon.errors import InputError

    doc = yaml.safe_load(bm.BENCHMARKS_FILE.read_text(encoding="utf-8"))
    for change in ({"checks": []}, {"source_status": "unverified"}):
        bad = {**doc, "products": [{**doc["products"][0], **change}]}
        path = tmp_path / "levels.yaml"
        path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
        with pytest.raises(InputError):
            bm.load_benchmarks.__wrapped__(path)


def test_unit_energy_hand_computed():
    # 11.5 tce for 100 t of clinker = 11,500 kgce / 100 t = 115 kgce/t
    assert bm.unit_energy([11.5], [100.0], ["t"], "kgce/t") == pytest.approx([115.0])
    # 190.05 tce for 1 x 10^4 weight cases (1 weight case = 50 kg): 190,050 kgce / 10,000
    # = 19.005 kgce per weight case; the same in kgce/t: 190,050 / 500 t = 380.1
    assert bm.unit_energy([190.05], [1.0], ["10^4 weight cases"], "kgce/weight case") == (
        pytest.approx([19.005])
    )
    assert bm.unit_energy([190.05], [1.0], ["万重量箱"], "kgce/t") == pytest.approx([380.1])
    assert np.isnan(bm.unit_energy([1.0], [0.0], ["t"], "kgce/t")[0])  # no output: no value


def test_position_at_the_boundaries():
    got = bm.benchmark_position([99.9, 100.0, 100.1, 117.0, 117.1, np.nan], 100.0, 117.0)
    assert list(got) == [
        "advanced",
        "advanced",
        "compliant",
        "compliant",
        "below_baseline",
        "",
    ]
    # recovery processes have negative levels (转炉: benchmark -30, baseline -10 kgce/t)
    assert list(bm.benchmark_position([-35.0, -20.0, -5.0], -30.0, -10.0)) == [
        "advanced",
        "compliant",
        "below_baseline",
    ]


def test_assess_single_product_enterprises_and_output_shares():
    """A: 100 t clinker, 9.5 tce -> 95 kgce/t (advanced); B: 300 t, 36 tce -> 120 kgce/t
    (below the baseline 117); C makes clinker and another product (not assessed); D makes a
    product without a level. Shares of output: advanced 100 / 400 = 25 %, below 75 %."""
    output = pd.DataFrame(
        {
            "enterprise_code": ["A", "A", "B", "C", "C", "D"],
            "year": 2024,
            "product": ["水泥熟料", "熟料", "cement clinker", "水泥熟料", "水泥制品", "LED芯片"],
            "quantity": [60.0, 40.0, 300.0, 50.0, 10.0, 5.0],
            "unit": ["t", "t", "t", "t", "t", "10^4 pieces"],
        }
    )
    energy = pd.DataFrame(
        {"enterprise_code": ["A", "B", "C", "D"], "year": 2024, "energy_tce": [9.5, 36.0, 6, 1]}
    )
    a = bm.assess(output, energy, bm.load_benchmarks()).set_index("enterprise_code")
    assert set(a.index) == {"A", "B"}  # C: two products; D: no level
    assert a.at["A", "unit_energy"] == pytest.approx(95.0)
    assert a.at["B", "unit_energy"] == pytest.approx(120.0)
    assert (a.at["A", "position"], a.at["B", "position"]) == ("advanced", "below_baseline")
    s = bm.output_shares(a.reset_index()).set_index("product_id").loc["cement_clinker"]
    assert s["enterprises"] == 2 and s["output_t"] == pytest.approx(400.0)
    assert s["share_advanced"] == pytest.approx(0.25)
    assert s["share_below_baseline"] == pytest.approx(0.75)


def test_an_output_upload_is_benchmarked_and_shown(app, web_home, tmp_path):
    """An ingest of industrial output makes the energy_benchmark step stale (the pipeline's
    graph); run (that step only, to keep the test short), clinker of an enterprise with no other
    output is benchmarked: the stored unit energy is its 205-1 energy over that output, and the
    碳效 page shows it to the city and to nobody outside scope."""
    from citycarbon.contract.results import (
        ENERGY_BENCHMARK,
        ENERGY_BENCHMARK_SUMMARY,
        ENTERPRISE_MONTH_FUEL,
    )
    from citycarbon.ingest.loader import ingest
    from citycarbon.runs.pipeline import run, stale_steps
    from citycarbon.store import lake, results

    out = lake.read_current("industrial_output")
    fuel = results.current(ENTERPRISE_MONTH_FUEL)
    fuel = fuel[fuel["year"] == 2024]
    candidates = sorted(set(fuel["enterprise_code"]) - set(out["enterprise_code"]))
    code = candidates[0]
    energy_tce = fuel.loc[fuel["enterprise_code"] == code, "energy_tce"].sum()
    csv = tmp_path / "clinker.csv"
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    pd.DataFrame(
        {
            "统一社会信用代码": code,
            "报告期": months,
            "产品名称": "水泥熟料",
            "产量": 1000.0,
            "计量单位": "吨",
        }
    ).to_csv(csv, index=False)
    assert "energy_benchmark" in {s.name for s in stale_steps(["industrial_output"])}
    assert ingest("industrial_output", csv).rows_accepted == 12
    done = run(steps=["energy_benchmark"], years=[2024])
    assert {s.name: s.status for s in done.steps}["energy_benchmark"] == "done"
    a = results.current(ENERGY_BENCHMARK).set_index(["enterprise_code", "year"])
    row = a.loc[(code, 2024)]
    assert row["product_id"] == "cement_clinker" and row["quantity"] == pytest.approx(12000.0)
    # 205-1 energy [tce] x 1000 kgce/tce / 12,000 t
    assert row["unit_energy"] == pytest.approx(energy_tce * 1000 / 12000.0)
    assert row["position"] == bm.benchmark_position([row["unit_energy"]], 100.0, 117.0)[0]
    assert row["source_status"] == "corroborated"
    s = results.current(ENERGY_BENCHMARK_SUMMARY)
    assert s["share_advanced"].between(0, 1).all()

    page = sign_in(app, "analyst").get("/rating", params={"lang": "zh"}).text
    assert 'id="energy-benchmark"' in page and f'data-code="{code}"' in page
    assert "未核实" in page and 'id="bench-summary"' in page
    en = sign_in(app, "analyst").get("/rating", params={"lang": "en"}).text
    assert "cement clinker" in en and "水泥熟料" not in en
    # an enterprise user of another enterprise sees neither the row nor the city summary
    other = sign_in(app, "enterprise").get("/rating").text
    assert f'data-code="{code}"' not in other and 'id="bench-summary"' not in other
