"""The codes regulators file enterprises by: the unified social credit code (统一社会信用代码, GB 32100-2015) and
the national economic industry classification (国民经济行业分类, GB/T 4754-2017, shipped as app/data/).

Pure functions of their input (no database): the validation of every record kind uses them, and so does the
Excel import.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# GB 32100-2015: 31 characters (the digits and the capitals without I, O, Z, S, V), each worth its position.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARSET)}
# Weight of position i (0-based) is 3^i mod 31.
CREDIT_CODE_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
CREDIT_CODE_LENGTH = 18
# The first character: the registration authority (机构编制, 民政, 工商, ... 其他); 1-9, A, N, Y.
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a credit code whose first 17 are `first17` (all from the charset)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` (upper case, no spaces) is not a unified social credit code, as a short key; None when it is.

    Keys: "length", "charset", "authority", "division", "check". The organisation code inside it
    (positions 9-17, GB 11714) is not checked separately: the final check character covers every position.
    """
    if len(code) != CREDIT_CODE_LENGTH:
        return "length"
    if any(ch not in _VALUE for ch in code):
        return "charset"
    if code[0] not in REGISTRATION_AUTHORITIES:
        return "authority"
    if not code[2:8].isdigit():  # the registering authority's administrative division (GB/T 2260)
        return "division"
    if credit_code_check_char(code[:17]) != code[17]:
        return "check"
    return None


def normalise_credit_code(raw: str) -> str:
    """A credit code as people type it (spaces, lower case, full-width characters) in its stored form."""
    return "".join(ch for ch in _halfwidth(raw).upper() if not ch.isspace())


def _halfwidth(text: str) -> str:
    return "".join(chr(ord(ch) - 0xFEE0) if 0xFF01 <= ord(ch) <= 0xFF5E else ch for ch in text)


# ------------------------------------------------------------------------------------------------ industries
DATA = Path(__file__).resolve().parent.parent / "data" / "gbt4754_2017.csv"


@dataclass(frozen=True)
class Industry:
    """A section (门类, "C") or a division (大类, "C26") of GB/T 4754-2017."""
    code: str
    section: str
    name_zh: str
    name_en: str

    @property
    def is_section(self) -> bool:
        return len(self.code) == 1

    def name(self, language: str | None) -> str:
        return self.name_en if (language or "").startswith("en") else self.name_zh


@cache
def industries() -> dict[str, Industry]:
    """Every section and division by its code as stored ("C", "C26"), in the standard's order."""
    found: dict[str, Industry] = {}
    with DATA.open(encoding="utf-8", newline="") as rows:
        for row in csv.DictReader(rows):
            code = row["code"] if row["code"].isalpha() else row["section"] + row["code"]
            found[code] = Industry(code, row["section"], row["name_zh"], row["name_en"])
    return found


@cache
def _division_sections() -> dict[str, str]:
    return {code[1:]: code for code in industries() if len(code) == 3}


def normalise_industry(raw: str) -> str | None:
    """The stored code of an industry as people write it ("C26", "c26", "26", "C"): the section letter and its
    digits; None when the code is none of the standard's sections or divisions.

    A group or class code (3 or 4 digits, "C2614" or "2614") is kept as given, checked as far as its division:
    the list shipped holds the sections and divisions, the level regulators report by.
    """
    code = _halfwidth(raw).strip().upper()
    if len(code) == 1:
        return code if code in industries() else None
    letter = code[0] if code[:1].isalpha() else ""
    digits = code[1:] if letter else code
    if not (digits.isascii() and digits.isdigit()) or len(digits) not in (2, 3, 4):
        return None
    division = _division_sections().get(digits[:2])
    if division is None or (letter and division[0] != letter):
        return None
    return division + digits[2:]


def industry_label(code: str | None, language: str | None = None) -> str:
    """"C26 化学原料和化学制品制造业" for a stored code; the code itself when it is not in the list."""
    if not code:
        return ""
    found = industries().get(code) or industries().get(code[:3])
    return f"{code} {found.name(language)}" if found else code
