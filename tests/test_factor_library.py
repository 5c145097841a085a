from pathlib import Path

import pandas as pd
import pytest

from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile, diff, in_language, load_factor_set
from citycarbon.factors.library import validate_rows

HEADER = "parameter,key,context,year,value,unit,source,clause,note\n"


def write_set(root: Path, set_id: str, rows: str, version: str = "1") -> Path:
    d = root / set_id
    d.mkdir(parents=True)
    (d / "manifest.yaml").write_text(f"id: {set_id}\nversion: '{version}'\ntitle: test set\n")
    (d / "factors.csv").write_text(HEADER + rows, encoding="utf-8")
    return d


def test_load_convert_and_provenance(tmp_path):
    d = write_set(
        tmp_path,
        "t1",
        "ncv,natural_gas,,2020,38931,kJ/m3,GB/T 2589-2020,表A.1,\n"
        "grid_ef,national,,2019,0.6101,tCO2/MWh,MEE 2021,附录,\n"
        "grid_ef,national,,2022,0.5703,tCO2/MWh,MEE 2023,通知,\n",
    )
    fs = load_factor_set(d)
    assert fs.label == "t1@1"
    p = FactorProfile([fs])
    assert p.lookup("ncv", "natural_gas", "GJ/10^4 m3") == pytest.approx(389.31)
    # time series: the latest value at or before the year
    assert p.lookup("grid_ef", "national", "tCO2/MWh", year=2021) == pytest.approx(0.6101)
    assert p.lookup("grid_ef", "national", "kgCO2/kWh", year=2024) == pytest.approx(0.5703)
    with pytest.raises(UnknownCodeError):
        p.lookup("grid_ef", "national", "tCO2/MWh", year=2010)
    prov = p.provenance("grid_ef", "national", year=2023)
    assert prov["source"] == "MEE 2023" and prov["set_id"] == "t1"
    assert "t1@1" in p.version


def test_override_wins_and_needs_source(tmp_path):
    fs = load_factor_set(write_set(tmp_path, "t2", "grid_ef,fujian,,2022,0.40,tCO2/MWh,src,tab,\n"))
    ov = pd.DataFrame(
        [
            {
                "parameter": "grid_ef",
                "key": "fujian",
                "year": 2022,
                "value": 0.35,
                "unit": "tCO2/MWh",
                "source": "city study",
                "clause": "p. 3",
            }
        ]
    )
    p = FactorProfile([fs], ov, name="testcity")
    assert p.lookup("grid_ef", "fujian", "tCO2/MWh", year=2022) == pytest.approx(0.35)
    assert p.provenance("grid_ef", "fujian", year=2022)["set_id"] == "testcity-overrides"
    with pytest.raises(InputError, match="without a source"):
        FactorProfile([fs], ov.assign(source=""), name="testcity")


@pytest.mark.parametrize(
    ("row", "match", "field"),
    [
        ("ncv,coal,,2020,abc,kJ/kg,s,c,", "not a number", "value"),
        ("ncv,coal,,2020,20908,kJ/m2,s,c,", "is area/area|is energy/area", "unit"),
        ("ncv,coal,,2020,20908,kJ/kg,,c,", "without a source", "source"),
        ("nvc,coal,,2020,20908,kJ/kg,s,c,", "unknown", "parameter"),
        ("ncv,coal,,2020,-1,kJ/kg,s,c,", "negative", "value"),
        ("ncv,coal,,2020,1,furlongs/kg,s,c,", "unknown", "unit"),
    ],
)
def test_bad_rows_name_file_row_field(tmp_path, row, match, field):
    d = write_set(tmp_path, "bad", "ncv,gas,,2020,38931,kJ/m3,s,c,\n" + row + "\n")
    with pytest.raises(InputError, match=match) as err:
        load_factor_set(d)
    assert err.value.row == 3 and err.value.field == field
    assert str(d / "factors.csv") in str(err.value)


def test_missing_key_and_wrong_unit(tmp_path):
    p = FactorProfile(
        [load_factor_set(write_set(tmp_path, "t3", "ncv,raw_coal,,2020,20908,kJ/kg,s,c,\n"))]
    )
    with pytest.raises(UnknownCodeError, match="raw_col") as err:
        p.lookup_many("ncv", pd.Series(["raw_coal", "raw_col"], index=[5, 6]), "GJ/t")
    assert err.value.row == 6 and "raw_coal" in err.value.suggestions
    with pytest.raises(UnitError, match="energy/mass"):
        p.lookup("ncv", "raw_coal", "GJ/m3")


def test_diff(tmp_path):
    a = load_factor_set(
        write_set(tmp_path, "a", "ncv,x,,2020,1000,kJ/kg,s,c,\nncv,y,,2020,2,GJ/t,s,c,\n")
    )
    b = load_factor_set(
        write_set(tmp_path, "b", "ncv,x,,2020,1,GJ/t,s,c,\nncv,z,,2020,3,GJ/t,s,c,\n")
    )
    d = diff(a, b).set_index("key")
    assert d.loc["y", "status"] == "only_a" and d.loc["z", "status"] == "only_b"
    assert "x" not in d.index  # 1000 kJ/kg == 1 GJ/t


def test_duplicates_refused():
    rows = pd.DataFrame(
        [
            {
                "parameter": "ncv",
                "key": "x",
                "year": 2020,
                "value": 1,
                "unit": "GJ/t",
                "source": "s",
                "clause": "c",
            }
        ]
        * 2
    )
    with pytest.raises(InputError, match="duplicate"):
        validate_rows(rows, "mem")


def test_priority_across_years_and_series(tmp_path):
    # a higher-priority set shadows a lower one for a non-series parameter whatever the years;
    # for time series each year is its own value and the latest year <= Y is used
    hi = load_factor_set(
        write_set(
            tmp_path,
            "hi",
            "ncv,crude_oil,,2015,41.816,GJ/t,s,c,\ngrid_ef,national,,2022,0.5703,tCO2/MWh,s,c,\n",
        )
    )
    lo = load_factor_set(
        write_set(
            tmp_path,
            "lo",
            "ncv,crude_oil,,2006,42.3,GJ/t,s,c,\n"
            "ncv,naphtha,,2006,44.5,GJ/t,s,c,\n"
            "grid_ef,national,,2019,0.6101,tCO2/MWh,s,c,\n"
            "grid_ef,national,,2022,0.9,tCO2/MWh,s,c,\n",
        )
    )
    p = FactorProfile([hi, lo])
    assert list(p.lookup_many("ncv", ["crude_oil", "naphtha"], "GJ/t")) == [41.816, 44.5]
    assert p.lookup("grid_ef", "national", "tCO2/MWh", year=2020) == 0.6101
    assert p.lookup("grid_ef", "national", "tCO2/MWh", year=2022) == 0.5703


def test_diff_matches_non_series_across_publication_years():
    # AR5 (Table 8.A.1) CH4 28 vs AR6 (Table 7.15) fossil CH4 29.8: the same quantity, published
    # in 2013 and 2021, shows as changed, not as two unrelated rows
    d = diff(load_factor_set("ipcc-ar5-gwp100"), load_factor_set("ipcc-ar6-gwp100")).set_index(
        "key"
    )
    assert d.at["CH4", "status"] == "changed"
    assert d.at["CH4", "rel_change"] == pytest.approx(29.8 / 28 - 1)
    assert d.at["SF6", "value_b_in_unit_a"] == pytest.approx(25_200)


def test_texts_in_one_language_keep_the_record(tmp_path):
    d = tmp_path / "t3"
    d.mkdir()
    (d / "manifest.yaml").write_text(
        "id: t3\nversion: '1'\ntitle: 综合能耗 reference values\ntitle_en: reference values\n"
        "description: as published\ndescription_zh: 按发布值\n",
        encoding="utf-8",
    )
    (d / "factors.csv").write_text(
        "parameter,key,context,year,value,unit,source,clause,note,note_zh,note_en\n"
        "ncv,raw_coal,,2020,20908,kJ/kg,GB/T 2589-2020,表A.1,平均低位发热量; 原煤,"
        "平均低位发热量；原煤,average net calorific value; raw coal\n"
        "ncv,coke,,2020,28435,kJ/kg,GB/T 2589-2020,表A.1,as recorded,,\n",
        encoding="utf-8",
    )
    fs = load_factor_set(d)
    assert fs.text("title", "en") == "reference values"
    assert fs.text("title", "zh") == "综合能耗 reference values"  # no translation: the record
    assert fs.text("description", "zh") == "按发布值"
    for lang, first in (
        ("zh", "平均低位发热量；原煤"),
        ("en", "average net calorific value; raw coal"),
    ):
        shown = in_language(fs.table, lang)
        assert list(shown["note"]) == [first, "as recorded"]
        assert not {"note_zh", "note_en"} & set(shown.columns)
    assert list(fs.table["note"]) == ["平均低位发热量; 原煤", "as recorded"]  # the record
    # a city's override note has no translation: shown as written
    ov = validate_rows(
        pd.DataFrame(
            [
                {
                    "parameter": "ncv",
                    "key": "coke",
                    "year": 2024,
                    "value": 28,
                    "unit": "GJ/t",
                    "source": "city",
                    "clause": "p. 1",
                    "note": "实测",
                }
            ]
        ),
        "config",
    )
    assert list(in_language(ov, "en")["note"]) == ["实测"]
