"""Identifier checks: the 统一社会信用代码 (unified social credit identifier) of GB 32100-2015.

The code has 18 characters from a 31-character set (digits and capital letters without
I, O, S, V, Z): registration department (1), organisation type (1), GB/T 2260 division of the
registering authority (6), subject identifier (9) and a check character (1). The check
character is C18 = 31 − MOD(Σ Ci·Wi, 31) over the first 17 characters, with Wi = MOD(3^(i−1), 31)
and 31 written as 0 (GB 32100-2015, clause 4.1 and annex, after GB/T 17710-2008 MOD 31-3).

Some codes issued by early pilot areas (e.g. Fujian/Xiamen 2015) do not satisfy the check;
callers decide whether that is a warning or an error.

References
----------
[1] GB 32100-2015 法人和其他组织统一社会信用代码编码规则 (coding rule of the unified social credit
    identifier for legal entities and other organizations).
[2] GB/T 17710-2008 信息技术 安全技术 校验字符系统 (check character systems).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

#: Code characters in the order of their values 0..30 (GB 32100-2015, table of code characters).
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weight of position i = 1..17: W_i = MOD(3^(i-1), 31) (GB 32100-2015, check character formula).
WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_MODULUS = len(CHARSET)  # 31
_PATTERN = f"[{CHARSET}]{{18}}"
# byte -> character value, -1 for bytes outside the code character set
_VALUE_OF_BYTE = np.full(256, -1, dtype=np.int64)
_VALUE_OF_BYTE[np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)] = np.arange(_MODULUS)


def credit_code_check_char(code17: str) -> str:
    """The check character (18th character) for the first 17 characters of a credit code.

    Parameters
    ----------
    code17 : str
        At least the first 17 characters of a 统一社会信用代码 (extra characters are ignored).

    Returns
    -------
    str
        The check character, one of ``CHARSET``.

    Raises
    ------
    ValueError
        If fewer than 17 characters are given or one is outside the code character set.

    References
    ----------
    [1] GB 32100-2015, check character C18 = 31 − MOD(Σ Ci·Wi, 31), Wi = MOD(3^(i−1), 31).
    """
    head = str(code17)[:17]
    bad = [ch for ch in head if ch not in CHARSET]
    if len(head) < 17 or bad:
        raise ValueError(f"{code17!r} does not start with 17 code characters ({CHARSET})")
    total = int(np.dot([CHARSET.index(ch) for ch in head], WEIGHTS))
    return CHARSET[(_MODULUS - total % _MODULUS) % _MODULUS]


def valid_credit_code(code: str) -> bool:
    """Whether ``code`` is a well-formed 统一社会信用代码 with a correct check character.

    Parameters
    ----------
    code : str
        The code as written: exactly 18 characters, capital letters (no trimming, no case folding).

    Returns
    -------
    bool
        True when all characters are in the code character set and the 18th equals the check
        character computed from the first 17.

    References
    ----------
    [1] GB 32100-2015 法人和其他组织统一社会信用代码编码规则.
    """
    if not isinstance(code, str) or len(code) != 18 or any(ch not in CHARSET for ch in code):
        return False
    return code[17] == credit_code_check_char(code)


def valid_credit_codes(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`valid_credit_code` for a column of codes.

    Parameters
    ----------
    codes : pandas.Series
        Codes as strings (missing values are invalid).

    Returns
    -------
    pandas.Series of bool
        Same index as ``codes``; True where the code is well formed and its check character holds.

    References
    ----------
    [1] GB 32100-2015 法人和其他组织统一社会信用代码编码规则.
    """
    codes = pd.Series(codes)
    text = codes.astype("string")
    shaped = text.str.fullmatch(_PATTERN).fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(codes), dtype=bool)
    if shaped.any():
        joined = "".join(text[shaped]).encode("ascii")
        values = _VALUE_OF_BYTE[np.frombuffer(joined, dtype=np.uint8).reshape(-1, 18)]
        check = (_MODULUS - (values[:, :17] @ WEIGHTS) % _MODULUS) % _MODULUS
        result[shaped] = check == values[:, 17]
    return pd.Series(result, index=codes.index, name=codes.name)


# ------------------------------------------------------------------ GB/T 4754-2017 industries
@cache
def industries() -> pd.DataFrame:
    """The GB/T 4754-2017 classification (``contract/data/gbt4754_2017.csv``), indexed by code
    (``C``, ``C26``, ``C261``, ``C2614``): level, parent, ``name_zh`` and ``name_en`` (groups
    and classes carry their division's English name; the standard publishes no English)."""
    path = resources.files("citycarbon.contract").joinpath("data/gbt4754_2017.csv")
    with path.open(encoding="utf-8") as f:
        frame = pd.read_csv(f, comment="#", dtype=str, keep_default_na=False)
    frame = frame.set_index("code", drop=False)
    division = frame["code"].str[:3]
    frame["name_en"] = frame["name_en"].where(
        frame["name_en"] != "", frame["name_en"].reindex(division).to_numpy()
    )
    return frame


def industry_names(codes: pd.Series, lang: str = "zh") -> pd.Series:
    """Names of GB/T 4754 codes (``C2614`` or ``2614``), '' for unknown codes; vectorised."""
    table = industries()
    col = "name_zh" if lang == "zh" else "name_en"
    text = codes.fillna("").astype(str).str.strip().str.upper()
    digits = text.str.lstrip("ABCDEFGHIJKLMNOPQRST")
    by_digits = table[table["level"] != "section"]
    by_digits = pd.Series(by_digits[col].to_numpy(), index=by_digits["code"].str[1:])
    named = table[col].reindex(text).to_numpy()
    fallback = by_digits.reindex(digits).to_numpy()
    out = pd.Series(named, index=codes.index).where(pd.notna(named), fallback)
    return out.fillna("")
