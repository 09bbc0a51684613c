"""Structured postal addresses (EN 16931 BT-35..40 / BT-50..55): printed text, and old free text split where sure."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "10115 Berlin", "D-10115 Berlin", "1012 AB Amsterdam", "00-001 Warszawa", "1010 Wien": a post code, then the city.
_CODE_FIRST = re.compile(r"^(?:[A-Z]{1,2}-)?(\d{4,5}(?: ?[A-Z]{2})?|\d{2}-\d{3})\s+(\S.*)$")
# "New York NY 10001", "London EC1A 1BB", "Tokyo 100-0005": the city, then a US state and ZIP, a UK post code
# or a Japanese one.
_CODE_LAST = re.compile(r"^(\S.*?),?\s+(?:([A-Z]{2})\s+(\d{5}(?:-\d{4})?)|([A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})"
                        r"|(\d{3}-\d{4}))$")
_HOUSE = re.compile(r"\d")
# Countries whose addresses put the post code after the city.
CITY_FIRST = frozenset({"US", "GB", "CA", "AU", "IE", "JP", "KR", "IN", "NZ", "SG", "ZA", "BR", "MX"})


@dataclass(frozen=True, slots=True)
class AddressParts:
    """A postal address: street and house number (BT-35/50), additional line (BT-36/51), city (BT-37/52),
    post code (BT-38/53), country subdivision (BT-39/54); the country (BT-40/55) is kept beside it."""

    street: str = ""
    additional_line: str = ""
    city: str = ""
    postcode: str = ""
    subdivision: str = ""

    @property
    def is_empty(self) -> bool:
        return not any((self.street, self.additional_line, self.city, self.postcode, self.subdivision))

    def text(self, country: str = "") -> str:
        """The address as printed, one line per part that is there: "10115 Berlin", or where the post code follows
        the city (US, GB, ...) "Chicago IL 60601" with the region in the same line."""
        lines: tuple[str, ...]
        if country.upper() in CITY_FIRST:
            lines = (self.street, self.additional_line, " ".join(p for p in (self.city, self.subdivision,
                                                                              self.postcode) if p))
        else:
            lines = (self.street, self.additional_line, " ".join(p for p in (self.postcode, self.city) if p),
                     self.subdivision)
        return "\n".join(line for line in lines if line)


def _town(line: str) -> tuple[str, str, str] | None:
    """(post code, city, subdivision) of a line such as "10115 Berlin" or "Austin TX 78701", None otherwise."""
    first = _CODE_FIRST.match(line)
    if first:
        return first[1], first[2], ""
    last = _CODE_LAST.match(line)
    if last:
        if last[3]:
            return last[3], last[1], last[2]
        return last[4] or last[5], last[1], ""
    return None


def split_reliably(text: str) -> AddressParts | None:
    """The free-text address split into parts when that is sure: two or three lines, the last a post code and city,
    the first a street with a house number. None when a person has to say which part is which."""
    lines = [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]
    if not 2 <= len(lines) <= 3:
        return None
    town = _town(lines[-1])
    if town is None or not _HOUSE.search(lines[0]):
        return None
    postcode, city, subdivision = town
    return AddressParts(street=lines[0], additional_line=lines[1] if len(lines) == 3 else "", city=city,
                        postcode=postcode, subdivision=subdivision)


def needs_completing(address: str, parts: AddressParts) -> bool:
    """Whether an address has text but not the parts an e-invoice needs (street, city, post code)."""
    return bool(address.strip()) and not (parts.street and parts.city and parts.postcode)
