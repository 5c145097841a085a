"""Green finance on request: the low/zero/negative-carbon class and the green credit score of
the enterprises a bank (or a city-wide user) reads, from the rows of
:func:`citycarbon.read.finance.overview`. Computed per request like the nowcast vintages (no
result is stored yet).

Sinks and certified offsets are not yet reported per enterprise (no ingest kind), so the class
nets green electricity only (already in ``net_co2_t``); the rule set's evidence function is
ready for those inputs.
"""

from __future__ import annotations

import pandas as pd

from citycarbon.finance import credit
from citycarbon.rating import classification as cl


def green_credit(overview: pd.DataFrame) -> pd.DataFrame:
    """``overview`` with ``carbon_class`` (negative | zero | low | ''), the classification rule
    set, the points and contributions of each score component and ``green_credit_score``."""
    rules = cl.classification_rules()
    none = pd.Series(dtype=float)
    classified = cl.classify(overview, none, none, rules).rename(
        columns={"rules": "classification_rules"}
    )
    return credit.green_credit_score(classified, credit.credit_rules())


def score_weights() -> dict[str, float]:
    """The weights of the green credit score's components (shown beside the scores)."""
    return dict(credit.credit_rules()["weights"])


def published(scored: pd.DataFrame, consenting: frozenset[str]) -> pd.DataFrame:
    """The rows of :func:`green_credit` that may be published: a class, and a valid
    publication consent."""
    return cl.publishable(scored, consenting)
