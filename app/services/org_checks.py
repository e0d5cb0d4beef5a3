"""Validation of the organisation tree's records: one function per record kind (region, government unit,
enterprise), each taking plain values (from the API, a page's form or a spreadsheet row) and answering the
cleaned values and a message per field to fix, in the user's language.

Nothing here writes. Who may put a record where is part of its validity: a district administrator's regions,
units and enterprises stay inside their district (services/policy.py says which those are), and a field that
points outside it is refused by name.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import (
    REGION_TIER,
    EnterpriseScale,
    Jurisdiction,
    Organisation,
    OrgKind,
    Region,
    RegionKind,
    User,
)
from app.services import policy
from app.services.org_codes import (
    credit_code_problem,
    industries,
    normalise_credit_code,
    normalise_industry,
)
from app.services.text import unfit_text

INT_MAX = 2_147_483_647  # PostgreSQL's integer: a larger id cannot exist
REGION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{3,28}[0-9]$")
MAX_JURISDICTION = 500  # regions one unit may be given at once


@dataclass
class Checked:
    """The cleaned values of the fields that were given, and a message per field that needs fixing."""
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------------------------------- plain values
def _text(value: Any) -> str | None:
    """A value as trimmed text (a spreadsheet cell may hold a number); None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split()) if isinstance(value, str) else str(value)
    return text or None


def _id(value: Any) -> int | None | bool:
    """A row id from an int or its digits; None when empty; False when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return False
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 10):
            return False
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= INT_MAX:
        return False
    return value


class _Form:
    """Reads the given values one field at a time, collecting messages."""

    def __init__(self, values: dict[str, Any], creating: bool) -> None:
        self.raw, self.creating, self.out = values, creating, Checked()

    def given(self, name: str) -> bool:
        return name in self.raw

    def fail(self, name: str, message: str) -> None:
        self.out.errors.setdefault(name, message)

    def _present(self, name: str, required: str | None) -> tuple[bool, Any]:
        """(True, value) when field `name` holds something to check; else (False, None), having refused an empty
        required field or noted an empty optional one as cleared."""
        if not self.given(name):
            if self.creating and required:
                self.fail(name, required)
            return False, None
        value = self.raw[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, required)
            else:
                self.out.values[name] = None
            return False, None
        return True, value

    def text(self, name: str, max_length: int, *, required: str | None = None) -> str | None:
        """Field `name` as text of at most `max_length` characters; `required`: the message when it is empty."""
        present, value = self._present(name, required)
        if not present:
            return None
        text = _text(value) or ""
        if unfit_text(text):
            self.fail(name, _("Remove the NUL character (\\u0000) or the broken character from this text."))
        elif len(text) > max_length:
            self.fail(name, _("Enter at most %(n)d characters.", n=max_length))
        else:
            self.out.values[name] = text
            return text
        return None

    def ident(self, name: str, *, required: str | None = None) -> int | None:
        present, value = self._present(name, required)
        if not present:
            return None
        value = _id(value)
        if value is False or value is None:
            self.fail(name, _("Enter the id as a whole number from 1 to %(n)d.", n=INT_MAX))
            return None
        self.out.values[name] = value
        return value

    def choice(self, name: str, enum_cls, *, required: str | None = None):
        present, value = self._present(name, required)
        if not present:
            return None
        text = _text(value) or ""
        try:
            chosen = enum_cls(text.lower())
        except ValueError:
            self.fail(name, _("Choose one of: %(choices)s.", choices=", ".join(e.value for e in enum_cls)))
            return None
        self.out.values[name] = chosen
        return chosen


# ------------------------------------------------------------------------------------------------ regions
def check_region(user: User, values: dict[str, Any], current: Region | None = None) -> Checked:
    """A region to create (`current` None) or the changes to one: code, name, kind and parent region."""
    form = _Form(values, current is None)
    code = form.text("code", 40, required=_("Enter the region's code (e.g. D01-T03)."))
    if code is not None:
        if not REGION_CODE.match(code):
            form.fail("code", _("Use letters, digits, '-', '_' and '.' only in the code (e.g. D01-T03), "
                                "starting with a letter or digit."))
        else:
            taken = db.session.scalar(select(Region.id).where(Region.code == code))
            if taken is not None and (current is None or taken != current.id):
                form.fail("code", _("Another region has the code %(code)s; choose a code of its own.", code=code))
    form.text("name", 100, required=_("Enter the region's name."))
    kind = form.choice("kind", RegionKind, required=_("Choose the kind of region: district, township, street, "
                                                      "park or grid."))
    parent_id = form.ident("parent_id")
    if "kind" in form.out.errors or "parent_id" in form.out.errors:
        return form.out
    kind = kind or (current.kind if current else None)
    parent_id = parent_id if form.given("parent_id") else (current.parent_id if current else None)
    if kind is None:
        return form.out
    regions = policy.administered_regions(user)
    parent = db.session.get(Region, parent_id) if parent_id else None
    tier = REGION_TIER[kind]
    if parent_id and (parent is None or (regions is not None and parent_id not in regions)):
        form.fail("parent_id", _("Choose a parent region you administer (region %(id)s is not one of them).",
                                 id=parent_id))
    elif tier == 1 and parent is not None:
        form.fail("parent_id", _("A district has no parent region; leave the parent empty."))
    elif tier == 1 and regions is not None and (current is None or current.kind != kind):
        form.fail("kind", _("Only a system administrator can add a district; add townships, streets, parks and "
                            "grids within yours."))
    elif tier > 1 and parent is None:
        form.fail("parent_id", _("Choose the parent region: a district for a township, street or park; a "
                                 "township, street or park for a grid."))
    elif tier > 1 and REGION_TIER[parent.kind] != tier - 1:
        form.fail("parent_id", _("A %(kind)s belongs to a %(parent)s.", kind=region_kind_label(kind),
                                 parent=_("district") if tier == 2 else _("township, street or park")))
    if parent is not None and not form.out.errors and parent.id != (current.parent_id if current else None) \
            and parent.id in policy.closed_regions():
        form.fail("parent_id", closed_region(parent))
    if current is not None and not form.out.errors:
        if parent is not None and parent.id in policy.region_subtree([current.id]):
            form.fail("parent_id", _("A region cannot be placed below itself."))
        below = db.session.scalars(select(Region.kind).where(Region.parent_id == current.id)).all()
        if any(REGION_TIER[k] != tier + 1 for k in below):
            form.fail("kind", _("The regions below this one need it to stay at its tier; change them first."))
    return form.out


def closed_region(region: Region) -> str:
    """Why a closed region (or one below a closed region) cannot be chosen."""
    return _("The region %(name)s is closed (or lies in a closed region); choose an open region.", name=region.name)


def region_kind_label(kind: RegionKind) -> str:
    return {RegionKind.district: _("district"), RegionKind.township: _("township"),
            RegionKind.street: _("street"), RegionKind.park: _("park"), RegionKind.grid: _("grid")}[kind]


# -------------------------------------------------------------------------------------- government units
def check_unit(user: User, values: dict[str, Any], current: Organisation | None = None) -> Checked:
    """A government unit to create or the changes to one: name, parent unit and jurisdiction (region ids)."""
    form = _Form(values, current is None)
    form.text("name", 200, required=_("Enter the unit's name."))
    parent_id = form.ident("parent_id")
    units = policy.administered_units(user)
    if "parent_id" not in form.out.errors:
        parent_id = parent_id if form.given("parent_id") else (current.parent_id if current else None)
        if parent_id is None and units is not None and (current is None or current.parent_id is not None):
            form.fail("parent_id", _("Choose the unit this one reports to (a unit you administer)."))
        elif parent_id is not None:
            parent = db.session.get(Organisation, parent_id)
            if parent is None or parent.kind != OrgKind.government or (units is not None and parent_id not in units):
                form.fail("parent_id", _("Choose a government unit you administer as the parent (unit %(id)s is "
                                         "not one of them).", id=parent_id))
            elif current is not None and parent_id in policy.unit_subtree(current.id):
                form.fail("parent_id", _("A unit cannot report to itself or to a unit below it."))
    if form.given("region_ids"):
        _check_jurisdiction(user, form, jurisdiction_of(current.id) if current is not None else [])
    return form.out


def _check_jurisdiction(user: User, form: _Form, before: list[int]) -> None:
    raw = form.raw["region_ids"]
    if raw is None or raw == "":
        raw = []
    if isinstance(raw, str):
        raw = [part for part in re.split(r"[\s,，;；]+", raw) if part]
    if not isinstance(raw, list | tuple | set) or len(raw) > MAX_JURISDICTION:
        form.fail("region_ids", _("Give the jurisdiction as a list of at most %(n)d region ids.", n=MAX_JURISDICTION))
        return
    ids = [_id(item) for item in raw]
    if any(not isinstance(i, int) or isinstance(i, bool) for i in ids):
        form.fail("region_ids", _("Enter each region of the jurisdiction as its id, a whole number."))
        return
    ids = sorted(set(ids))
    regions = policy.administered_regions(user)
    known = set(db.session.scalars(select(Region.id).where(Region.id.in_(ids)))) if ids else set()
    outside = [i for i in ids if i not in known or (regions is not None and i not in regions)]
    if outside:
        form.fail("region_ids", _("Choose regions you administer; these are not: %(ids)s.",
                                  ids=", ".join(map(str, outside))))
        return
    added = [i for i in ids if i not in before]
    hidden = policy.closed_regions() if added else frozenset()
    closed = [i for i in added if i in hidden]
    if closed:
        form.fail("region_ids", closed_region(db.session.get(Region, closed[0])))
        return
    form.out.values["region_ids"] = ids


def jurisdiction_of(unit_id: int) -> list[int]:
    return sorted(db.session.scalars(select(Jurisdiction.region_id).where(Jurisdiction.unit_id == unit_id)))


# ------------------------------------------------------------------------------------------------ enterprises
ENTERPRISE_TEXT = {"address": 300, "legal_representative": 100, "principal_name": 100}


def check_enterprise(user: User, values: dict[str, Any], current: Organisation | None = None, *,
                     credit_codes: Mapping[str, int] | None = None) -> Checked:
    """An enterprise to create or the changes to one: name, credit code, industry, region, scale, address,
    legal representative, principal and contact phone. `values["supervising_unit_id"]` in the answer is the
    unit that will supervise it (when the region was given).

    `credit_codes`: the enterprise id registered under each credit code of a batch the caller looked up at
    once (the Excel import); without it, the code is looked up here."""
    form = _Form(values, current is None)
    form.text("name", 200, required=_("Enter the enterprise's name."))
    _check_credit_code(form, current, credit_codes)
    raw_industry = form.text("industry", 60, required=_("Enter the industry's code (GB/T 4754-2017, e.g. C26)."))
    if raw_industry is not None:
        code = normalise_industry(raw_industry)
        if code is None:
            form.fail("industry", _("%(code)s is not an industry code of GB/T 4754-2017; enter a section letter "
                                    "(A–T) or a division (e.g. C26, 两位大类代码).", code=raw_industry))
        else:
            form.out.values["industry"] = code
    region_id = form.ident("region_id", required=_("Choose the region (grid, township, street or park) the "
                                                   "enterprise is in."))
    if region_id is not None:
        _check_enterprise_region(user, form, region_id, current.region_id if current is not None else None)
    form.choice("scale", EnterpriseScale)
    for name, length in ENTERPRISE_TEXT.items():
        form.text(name, length)
    phone = form.text("contact_phone", 30)
    if phone is not None and not PHONE.match(phone):
        form.fail("contact_phone", _("Enter a phone number: digits, with '+', spaces, '-' or brackets if you like "
                                     "(e.g. 010-12345678 or 13800000000)."))
    return form.out


def _check_credit_code(form: _Form, current: Organisation | None, known: Mapping[str, int] | None) -> None:
    raw = form.text("credit_code", 60, required=_("Enter the unified social credit code (统一社会信用代码, 18 "
                                                   "characters)."))
    if raw is None:
        return
    code = normalise_credit_code(raw)
    problem = credit_code_problem(code)
    messages = {
        "length": _("A unified social credit code has 18 characters; this one has %(n)d.", n=len(code)),
        "charset": _("A unified social credit code uses digits and capital letters except I, O, Z, S and V."),
        "authority": _("The first character of a unified social credit code is a digit 1–9, A, N or Y."),
        "division": _("Characters 3 to 8 of a unified social credit code are digits (the administrative "
                      "division)."),
        "check": _("The unified social credit code's last character does not match its check digit "
                   "(GB 32100-2015): check the code for a typing mistake."),
    }
    if problem is not None:
        form.fail("credit_code", messages[problem])
        return
    taken = known.get(code) if known is not None else \
        db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code))
    if taken is not None and (current is None or taken != current.id):
        form.fail("credit_code", _("Another enterprise is registered with the credit code %(code)s.", code=code))
        return
    form.out.values["credit_code"] = code


def _check_enterprise_region(user: User, form: _Form, region_id: int, before: int | None) -> None:
    regions = policy.administered_regions(user)
    region = db.session.get(Region, region_id)
    if region is None or (regions is not None and region_id not in regions):
        form.fail("region_id", _("Choose a region you administer (region %(id)s is not one of them).", id=region_id))
        return
    if region_id != before and region_id in policy.closed_regions():
        form.fail("region_id", closed_region(region))
        return
    unit = policy.resolve_supervising_unit(region_id)
    units = policy.administered_units(user)
    if unit is None:
        form.fail("region_id", _("No government unit supervises this region yet: give a unit jurisdiction over "
                                 "it (or over a region above it) first."))
    elif units is not None and unit not in units:
        form.fail("region_id", _("This region is supervised by a unit you do not administer."))
    else:
        form.out.values["supervising_unit_id"] = unit


def industry_choices(language: str | None) -> list[tuple[str, str]]:
    """(code, label) of every section and division, for a page's list."""
    return [(code, f"{code} {item.name(language)}") for code, item in industries().items()]
