"""统一社会信用代码 check character (GB 32100-2015), scalar and vectorised."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.contract.codes import (
    CHARSET,
    WEIGHTS,
    credit_code_check_char,
    valid_credit_code,
    valid_credit_codes,
)

# Worked example of the GB 32100-2015 check ("统一社会信用代码唯一性校验规则", reproduced e.g. at
# https://renrendoc.com/p-47802332.html and https://www.yc00.com/web/1713075042a2177900.html):
# for 91350100M000100Y4Z the weighted sum of the first 17 characters is 1640, MOD(1640, 31) = 28,
# the check character is 31 - 28 = 3, so "...Y4Z" is rejected and "...Y43" is the valid code.
WORKED_EXAMPLE = "91350100M000100Y4Z"
# Codes "found online" that python-stdnum's test suite asserts valid
# (arthurdejong/python-stdnum, tests/test_cn_uscc.doctest; stdnum/cn/uscc.py docstring).
PUBLISHED_VALID = [
    "91110000600037341L",
    "91310115MA1K3BTP2B",
    "913505007821784439",
    "9144030071526726XG",
    "92340603MA2PBQBC2X",
    "121200004013590816",
]
# Real Fujian pilot-period codes that do not satisfy the check, with the check character
# computed by an independent implementation (aarioai/id-rule, chinese_org_id.go, header comment).
PILOT_CODES_FAILING = {
    "91350100M0001TGQXM": "1",
    "91350211M0000XUF46": "R",
    "91350203M0001FUE2P": "J",
}

code17 = st.text(alphabet=CHARSET, min_size=17, max_size=17)


def test_weights_and_charset_of_the_standard():
    # GB 32100-2015: W_i = MOD(3^(i-1), 31), table of weights; 31 characters without I O S V Z.
    assert WEIGHTS.tolist() == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert len(CHARSET) == 31 and not set("IOSVZ") & set(CHARSET)


def test_worked_example_of_the_standard():
    values = [CHARSET.index(c) for c in WORKED_EXAMPLE[:17]]
    assert int(sum(v * w for v, w in zip(values, WEIGHTS, strict=True))) == 1640
    assert credit_code_check_char(WORKED_EXAMPLE) == "3"
    assert not valid_credit_code(WORKED_EXAMPLE)
    assert valid_credit_code(WORKED_EXAMPLE[:17] + "3")


@pytest.mark.parametrize("code", PUBLISHED_VALID)
def test_published_codes_are_valid(code):
    assert valid_credit_code(code)


@pytest.mark.parametrize(("code", "check"), PILOT_CODES_FAILING.items())
def test_pilot_codes_fail_with_the_independently_computed_check(code, check):
    assert credit_code_check_char(code) == check
    assert not valid_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "91110000600037341l",
        " 91110000600037341L",
        "9111000060003IOZSV",
        "91110000600037341LX",
        None,
        91110000,
    ],
)
def test_malformed_codes_are_invalid(code):
    assert not valid_credit_code(code)


def test_check_char_needs_17_code_characters():
    with pytest.raises(ValueError, match="17 code characters"):
        credit_code_check_char("9111000060003741")
    with pytest.raises(ValueError):
        credit_code_check_char("91110000600O37341")


def test_vectorised_matches_scalar():
    values = [
        *PUBLISHED_VALID,
        *PILOT_CODES_FAILING,
        WORKED_EXAMPLE,
        None,
        "x",
        float("nan"),
        "91350100M000100Y43",
    ]
    codes = pd.Series(values, index=range(10, 10 + len(values)), name="credit")
    got = valid_credit_codes(codes)
    assert got.index.equals(codes.index) and got.name == "credit" and got.dtype == bool
    assert got.tolist() == [valid_credit_code(c) for c in codes]
    assert valid_credit_codes(pd.Series([], dtype=object)).empty


@given(code17)
def test_generated_code_with_its_check_char_is_valid(head):
    code = head + credit_code_check_char(head)
    assert valid_credit_code(code)
    assert valid_credit_codes(pd.Series([code])).iloc[0]


@given(code17, st.integers(0, 17), st.integers(1, 30))
def test_changing_one_character_invalidates(head, position, shift):
    # MOD 31 with weights prime to 31 detects every single substitution.
    code = head + credit_code_check_char(head)
    changed = CHARSET[(CHARSET.index(code[position]) + shift) % 31]
    wrong = code[:position] + changed + code[position + 1 :]
    assert not valid_credit_code(wrong)
    assert not valid_credit_codes(pd.Series([wrong])).iloc[0]
