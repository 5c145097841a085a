"""Eligibility of green projects against 绿色低碳转型产业指导目录（2024年版） and 绿色债券支持项目目录
（2021年版）, from versioned rule data (``finance/data/green_catalogues.yaml``).

Per project and catalogue:

- ``no`` where an exclusion of the catalogue lists the project's technology, or a matching
  clause requires a reduction and the project's expected reduction is 0 or less;
- ``yes`` where a clause matches (project type listed and, where the clause lists
  technologies, the technology too) and the project holds every evidence the clause asks for;
- ``undetermined`` where a clause matches but evidence is missing (listed), or where no clause
  of the catalogue is mapped to the project type in the rule data (the catalogue may still
  cover it: the rule data are incomplete, not the project ineligible).

References
----------
[1] 国家发展改革委等《绿色低碳转型产业指导目录（2024年版）》.
[2] 中国人民银行 国家发展改革委 中国证监会《绿色债券支持项目目录（2021年版）》（银发〔2021〕96号）.
Every catalogue, clause and exclusion of the rule data says how it was checked
(``source_status`` of :data:`SOURCE_STATUSES`, and a ``check`` unless ``verified``): clause
sub-level numbers are ``assumption`` until read in the catalogue text.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError

RULES_FILE = Path(__file__).parent / "data" / "green_catalogues.yaml"
OUTCOMES = ("yes", "no", "undetermined")
#: verified: read in the catalogue text; corroborated: agrees with a named published source;
#: assumption: not checked against the text.
SOURCE_STATUSES = ("verified", "corroborated", "assumption")
EVIDENCE_SEPARATOR = ";"
OUT_COLUMNS = (
    "project_id",
    "catalogue",
    "eligible",
    "clauses",
    "clauses_en",
    "clause_source_status",
    "missing_evidence",
    "reason_zh",
    "reason_en",
)


@cache
def catalogue_rules(path: Path = RULES_FILE) -> Mapping[str, Any]:
    """The rules file, checked: clauses and exclusions name a declared catalogue, clause evidence
    is declared, every clause, exclusion and catalogue says its ``source_status`` (one of
    :data:`SOURCE_STATUSES`) and, unless verified, its ``check``."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    cats, evidence = data["catalogues"], data["evidence"]
    for item in [*data["clauses"], *data["exclusions"], *cats.values()]:
        status = item.get("source_status")
        if status not in SOURCE_STATUSES or (status != "verified" and not item.get("check")):
            raise InputError(
                "every catalogue, clause and exclusion needs a source_status of "
                f"{list(SOURCE_STATUSES)} and, unless verified, its check (found {status!r})",
                source=path.name,
            )
    for c in data["clauses"]:
        if c["catalogue"] not in cats or not set(c["evidence"]) <= set(evidence):
            raise InputError(
                f"clause {c['catalogue']} {c['number']}: unknown catalogue or evidence",
                source=path.name,
            )
    for x in data["exclusions"]:
        if x["catalogue"] not in cats:
            raise InputError(f"exclusion of unknown catalogue {x['catalogue']}", source=path.name)
    return data


def _clause_table(rules: Mapping[str, Any]) -> pd.DataFrame:
    """One row per (clause, project type, technology or '*')."""
    frame = pd.DataFrame(rules["clauses"])
    if "technologies" not in frame:
        frame["technologies"] = None
    frame["technologies"] = frame["technologies"].map(lambda t: t or ["*"])
    frame["clause"] = frame["number"] + " " + frame["title_zh"]
    frame["clause_en"] = frame["number"] + " " + frame["title_en"]
    return (
        frame.explode("project_types")
        .explode("technologies")
        .rename(columns={"project_types": "project_type", "technologies": "technology"})
    )


def _missing_evidence(matched: pd.DataFrame, projects: pd.DataFrame) -> pd.Series:
    """Per matched (project, clause) row: the clause evidence the project lacks, ';'-joined."""
    need = matched[["row", "evidence"]].explode("evidence").dropna()
    have = projects[["project_id", "evidence"]].assign(
        evidence=projects["evidence"].fillna("").str.split(EVIDENCE_SEPARATOR)
    )
    have = have.explode("evidence").assign(evidence=lambda f: f["evidence"].str.strip())
    have = have[have["evidence"] != ""].assign(held=True).drop_duplicates()
    need = need.merge(matched[["row", "project_id"]], on="row").merge(
        have, on=["project_id", "evidence"], how="left"
    )
    lacking = need[need["held"].isna()]
    return lacking.groupby("row")["evidence"].agg(EVIDENCE_SEPARATOR.join)


def check_eligibility(projects: pd.DataFrame, rules: Mapping[str, Any]) -> pd.DataFrame:
    """Eligibility of every project under every catalogue of ``rules``.

    ``projects``: ``project_id``, ``project_type``, ``technology``, ``evidence`` (codes of the
    rule data's ``evidence``, ';'-separated) and ``reduction_tco2_per_yr`` (NaN: unknown).
    Returns one row per project and catalogue (:data:`OUT_COLUMNS`): ``eligible`` (yes | no |
    undetermined), the matching ``clauses`` ('; '-joined "number title"; ``clauses_en``), their
    ``clause_source_status``, ``missing_evidence`` (codes) and the reason in Chinese and
    English.
    """
    cats = pd.DataFrame({"catalogue": list(rules["catalogues"])})
    base = projects[["project_id", "project_type", "technology", "reduction_tco2_per_yr"]].merge(
        cats, how="cross"
    )
    clauses = _clause_table(rules)
    matched = base.merge(clauses, on=["catalogue", "project_type"], how="inner")
    matched = matched[
        (matched["technology_y"] == "*") | (matched["technology_y"] == matched["technology_x"])
    ].reset_index(drop=True)
    matched["row"] = matched.index
    matched["missing"] = _missing_evidence(matched, projects).reindex(matched["row"]).fillna("")
    matched["no_reduction"] = matched["requires_reduction"].astype(bool) & (
        matched["reduction_tco2_per_yr"] <= 0
    )
    key = ["project_id", "catalogue"]
    per = matched.groupby(key).agg(
        clauses=("clause", "; ".join),
        clauses_en=("clause_en", "; ".join),
        clause_source_status=("source_status", lambda s: ";".join(sorted(set(s)))),
        complete=("missing", lambda s: (s == "").any()),
        missing_evidence=("missing", lambda s: min(s, key=len)),
        no_reduction=("no_reduction", "all"),
    )
    out = base.merge(per.reset_index(), on=key, how="left")
    excl = pd.DataFrame(rules["exclusions"]).explode("technologies")
    excl = excl.rename(columns={"technologies": "technology"})[
        ["catalogue", "technology", "reason_zh", "reason_en", "source_status"]
    ]
    out = out.merge(excl, on=["catalogue", "technology"], how="left", suffixes=("", "_excl"))
    excluded = out["reason_zh"].notna().to_numpy()
    has_clause = out["clauses"].notna().to_numpy()
    no_red = out["no_reduction"].eq(True).to_numpy()
    complete = out["complete"].eq(True).to_numpy()
    conds = [excluded, has_clause & no_red, has_clause & complete, has_clause]
    out["eligible"] = np.select(conds, ["no", "no", "yes", "undetermined"], "undetermined")
    clause_zh, clause_en = out["clauses"].fillna(""), out["clauses_en"].fillna("")
    missing = out["missing_evidence"].fillna("")
    out["reason_zh"] = np.select(
        conds,
        [
            out["reason_zh"].fillna(""),
            "项目类型与技术符合条目，但预期减排量不大于零",
            "项目类型与技术符合条目，所需证明材料齐全",
            "项目类型与技术符合条目，但缺少证明材料",
        ],
        "规则数据中没有与该项目类型对应的条目（需人工判断）",
    )
    out["reason_en"] = np.select(
        conds,
        [
            out["reason_en"].fillna(""),
            "Type and technology match the clause, but the expected reduction is not above zero",
            "Type and technology match the clause; every evidence it asks for is held",
            "Type and technology match the clause, but evidence is missing",
        ],
        "No clause is mapped to this project type in the rule data (to be judged by hand)",
    )
    out["missing_evidence"] = np.where(has_clause & ~excluded & ~no_red, missing, "")
    out["clause_source_status"] = np.where(
        excluded, out["source_status"].fillna(""), out["clause_source_status"].fillna("")
    )
    out["clauses"], out["clauses_en"] = clause_zh, clause_en
    return out[list(OUT_COLUMNS)].reset_index(drop=True)
