"""Method records (issue 19, "One language per page"): runs write how they computed a row as
message keys with parameters, pages say them in their language, and free text stored by earlier
runs is still shown as it was written."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.accounting import gpc, process
from citycarbon.contract.inputs import INDUSTRIAL_OUTPUT, CheckContext, check_table
from citycarbon.contract.records import messages, reason_text, record_html, record_text
from citycarbon.contract.results import RESULTS
from citycarbon.records import join_records, message_record, parse_record
from citycarbon.runs import inventory as run_inventory
from citycarbon.runs import scenarios as run_scenarios
from citycarbon.store.query import named_queries
from citycarbon.web.i18n import strings

KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
VALUES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(
    st.lists(
        st.tuples(KEYS, st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), VALUES)),
        min_size=1,
        max_size=4,
    )
)
def test_a_record_reads_back_as_written(parts):
    """Any values, separators and '?' included: a record's parts come back unchanged."""
    record = join_records(*(message_record(k, **p) for k, p in parts))
    assert parse_record(record) == [(k, {n: str(v) for n, v in p.items()}) for k, p in parts]


def test_free_text_is_not_a_record():
    for text in (
        "top-down from the energy balance: fuel burnt x NCV x CC x OF x 44/12",
        "NE: no 能源平衡表 of the city for this year yet",
        "Kang et al. (2015) carbon emission flow",
        "",
        None,
    ):
        assert parse_record(text) is None


def test_a_record_is_said_in_the_page_language_and_free_text_as_stored():
    record = join_records(
        run_inventory.METHOD_CITY,
        message_record("grid_factor", grid_region="east_china", factor_year=2022, year=2024),
    )
    zh, en = record_text(record, "zh"), record_text(record, "en")
    assert "华东电网排放因子，2022 年发布值（数据年份 2024）" in zh and "自上而下" in zh
    assert "grid emission factor of East China, published for 2022 (data year 2024)" in en
    assert not re.search(r"[\u4e00-\u9fff]", en) and "；" in zh
    old = "top-down from the energy balance (a run of an earlier version)"
    assert record_text(old, "zh") == old
    # a key no catalog knows: the record is shown as stored, not half translated
    assert record_text(join_records(record, "no_such_key"), "zh") == join_records(
        record, "no_such_key"
    )


def test_every_method_key_the_runs_write_is_in_both_catalogs():
    """Every key a run (or a result's declared default) writes has a text in both languages."""
    written = {
        key
        for record in (
            *(r.method for r in RESULTS.values()),
            run_inventory.METHOD_CITY,
            run_inventory.METHOD_MONTHLY,
            run_inventory.METHOD_ENTITY,
            run_inventory.METHOD_NO_BALANCE,
            run_inventory.METHOD_IPPU_OTHER,
            run_scenarios.METHOD_INVENTORY,
        )
        for key, _ in parse_record(record) or []
    }
    package = Path(run_inventory.__file__).parents[1]
    writers = ("runs", "config", "accounting", "power", "pathways", "targets", "rating", "finance")
    for source in (p for w in writers for p in (package / w).glob("*.py")):
        text = source.read_text(encoding="utf-8")
        written |= set(re.findall(r'message_record\(\s*"([a-z0-9_]+)"', text))
    written |= {k for m in process.METHODS.values() for k, _ in parse_record(m)}
    written |= {q.method for q in named_queries().values()}  # the query headers' methods
    written -= {"cited"}  # the targets file's notes (targets.note_cited of the web catalogs)
    for lang in ("zh", "en"):
        said = {k.split(".", 1)[1] for k in messages(lang) if k.startswith("run_method.")}
        assert written <= said, written - said
    assert {k for k in messages("zh") if k.startswith("run_method.")} == {
        k for k in messages("en") if k.startswith("run_method.")
    }
    assert set(messages("zh")) <= set(strings("zh"))  # the pages say them too


def test_gpc_notes_are_in_both_languages_and_every_reference_names_a_known_note():
    notes = gpc.gpc_notes()
    assert (notes["note_zh"] != "").all() and (notes["note_en"] != "").all()
    assert not notes["note_en"].str.contains(r"[\u4e00-\u9fff]{3,}").any()  # names only
    assert (notes["source"] != "").all()
    used = gpc.gpc_reference()["note"]
    assert set(used[used != ""]) <= set(notes.index)
    cols = gpc.note_columns(pd.Series(["td_losses", ""]))
    assert cols["note_zh"][0].startswith("输配电损耗") and cols["note_en"][1] == ""


def test_refused_rows_carry_their_reason_as_a_record_said_in_the_page_language():
    """The checks give each problem a reason key with its parameters (stored with the
    quarantined row); the page says it from the catalog. Rows stored before keys existed are
    said by the English text's pattern, and English pages show the text as written."""
    ctx = CheckContext(
        "Asia/Shanghai",
        pd.Timestamp("2024-03-15", tz="UTC"),
        codes={"enterprise": pa.array(["91350200MA00000001"])},
    )
    raw = pa.table(
        {
            "enterprise_code": ["91350200MA00000001"] * 3,
            "period": ["2024-02", "2030-01", "2024-01"],
            "product": ["水泥", "水泥", "水泥"],
            "quantity": ["1", "1", "-5"],
            "unit": ["t", "t", "t"],
            "_row": pa.array([2, 3, 4], pa.int64()),
        }
    )
    problems = check_table(INDUSTRIAL_OUTPUT, raw, ctx).problems.to_pandas()
    by_row = problems.set_index("_row")
    assert parse_record(by_row.at[3, "reason_key"]) == [("future", {})]
    assert parse_record(by_row.at[4, "reason_key"]) == [("negative", {})]
    pairs = zip(problems["reason"], problems["reason_key"], strict=True)
    zh = [reason_text(r, "zh", k) for r, k in pairs]
    assert "报告期尚未结束（只接受已结束的报告期）" in zh and "为负数" in zh
    assert reason_text(by_row.at[4, "reason"], "en", by_row.at[4, "reason_key"]) == "is negative"
    unknown = message_record("unknown_hint", what="fuel", value="原 煤", hint="原煤")
    assert (
        reason_text("fuel '原 煤' is unknown", "zh", unknown)
        == "能源品种 “原 煤” 未知（是否为 原煤？）"
    )
    assert reason_text("is negative", "zh", None) == "为负数"  # a row stored before keys


def test_a_record_on_a_page_marks_identifiers_and_citations_and_escapes_the_rest():
    """On a page, a default's parameter, key and unit are identifiers (``<code>``) and its
    source a cited document (``<cite>``), shown as written in either language; values from the
    data are escaped; free text of earlier runs is escaped, never shown as a record."""
    record = join_records(
        message_record(
            "default", parameter="docf", key="-", value="0.5", unit="1", source="IPCC <2006>"
        ),
        "assumed_value",
    )
    zh = record_html(record, "zh")
    assert zh.startswith("<code>docf</code>[<code>-</code>] = 0.5 <code>1</code>")
    assert "<cite>IPCC &lt;2006&gt;</cite>" in zh and zh.endswith("；（该值为假设）")
    assert record_text(record, "en").endswith("(IPCC <2006>); (the value is an assumption)")
    assert record_html("a < b (free text)", "en") == "a &lt; b (free text)"
    named = message_record("ippu_ne_product", product="LED芯片", note="led_pieces")
    assert record_text(named, "en").startswith("NE: LED chips: activity is reported in pieces")
