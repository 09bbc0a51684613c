"""Names, postal addresses and VAT ids of the demo customers, picked from small word lists by customer number."""

from __future__ import annotations

from stdnum import luhn
from stdnum.at import uid
from stdnum.iso7064 import mod_11_10
from stdnum.nl import bsn

NAME_WORDS = ["Nordic", "Alpine", "Blue", "Green", "Bright", "Solid", "Urban", "Rapid", "Prime", "Golden", "Silver",
              "Clear", "Smart", "Royal", "Coastal", "Summit", "Atlas", "Pioneer", "Vital", "Metro"]
TRADE_WORDS = ["Bakery", "Logistics", "Design", "Consulting", "Electrics", "Foods", "Media", "Systems", "Works",
               "Studio", "Labs", "Trading", "Motors", "Textiles", "Health", "Builders", "Optics", "Garden", "Print",
               "Software"]
_SUFFIX = {"DE": "GmbH", "AT": "GmbH", "FR": "SARL", "NL": "B.V.", "US": "Inc.", "GB": "Ltd", "JP": "K.K."}
_FAMILY = ["Becker", "Schneider", "Fischer", "Weber", "Wagner", "Hoffmann", "Keller", "Richter", "Klein", "Wolf",
           "Neumann", "Braun", "Zimmermann", "Hartmann", "Lange", "Gruber", "Huber", "Berger", "Dubois", "Laurent",
           "Moreau", "Lefèvre", "Bakker", "Visser", "Smit", "Jansen", "Miller", "Carter", "Parker", "Hughes",
           "Bennett", "Turner", "Walsh", "Morgan", "Tanaka", "Suzuki", "Sato", "Watanabe", "Novak", "Łukasik"]
# Per country: streets, (postcode, city), and whether the postcode goes before the city (the house
# number goes after the street name where it does, except in France).
_PLACES: dict[str, tuple[list[str], list[tuple[str, str]], bool]] = {
    "DE": (["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Industriestraße", "Marktplatz", "Lindenallee"],
           [("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
            ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("04109", "Leipzig"), ("28195", "Bremen")], True),
    "AT": (["Hauptstraße", "Ringstraße", "Kirchengasse"],
           [("1010", "Wien"), ("8010", "Graz"), ("5020", "Salzburg"), ("6020", "Innsbruck")], True),
    "FR": (["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo"],
           [("75002", "Paris"), ("69002", "Lyon"), ("13001", "Marseille"), ("31000", "Toulouse")], True),
    "NL": (["Kerkstraat", "Stationsweg", "Dorpsstraat"],
           [("1012 AB", "Amsterdam"), ("3011 AD", "Rotterdam"), ("3511 LX", "Utrecht"), ("2511 CV", "Den Haag")],
           True),
    "US": (["Main Street", "Park Avenue", "Oak Street", "Market Street"],
           [("NY 10001", "New York"), ("IL 60601", "Chicago"), ("TX 78701", "Austin"), ("WA 98101", "Seattle")],
           False),
    "GB": (["High Street", "Station Road", "Church Lane", "Mill Road"],
           [("EC1A 1BB", "London"), ("M1 1AE", "Manchester"), ("B1 1AA", "Birmingham"), ("EH1 1YZ", "Edinburgh")],
           False),
    "JP": (["Chuo-dori", "Sakura-dori"], [("100-0005", "Tokyo"), ("530-0001", "Osaka"), ("460-0008", "Nagoya")],
           False),
}


def customer_name_and_address(i: int, a: int, b: int, country: str) -> tuple[str, str]:
    """A plausible company name and postal address for customer `i` (picked from `i` itself, so the
    random stream, and with it the rest of the dataset, stays the same)."""
    streets, places, postcode_first = _PLACES[country]
    family, other = _FAMILY[(i * 7 + a) % len(_FAMILY)], _FAMILY[(i * 13 + b * 3 + 5) % len(_FAMILY)]
    postcode, city = places[(i * 3 + b) % len(places)]
    suffix = _SUFFIX[country]
    name = [f"{NAME_WORDS[a]} {TRADE_WORDS[b]} {suffix}", f"{family} {TRADE_WORDS[b]} {suffix}",
            f"{family} & {other} {suffix}" if family != other else f"{family} & Partner {suffix}",
            f"{NAME_WORDS[a]} {TRADE_WORDS[b]} {city} {suffix}"][i % 4]
    street, number = streets[(i * 11) % len(streets)], 1 + (i * 37) % 180
    line = f"{street} {number}" if postcode_first and country != "FR" else f"{number} {street}"
    town = f"{postcode} {city}" if postcode_first else f"{city} {postcode}"
    return name, f"{line}\n{town}"


def customer_party(i: int, a: int, b: int, country: str) -> dict[str, str]:
    """The structured address (street, post code, city, US state) and VAT id of demo customer `i`, matching
    `customer_name_and_address`; US and Japanese customers have no VAT id."""
    streets, places, postcode_first = _PLACES[country]
    postcode, city = places[(i * 3 + b) % len(places)]
    street, number = streets[(i * 11) % len(streets)], 1 + (i * 37) % 180
    subdivision = ""
    if country == "US":
        subdivision, postcode = postcode.split()
    line = f"{street} {number}" if postcode_first and country != "FR" else f"{number} {street}"
    return {"street": line, "postcode": postcode, "city": city, "subdivision": subdivision,
            "tax_id": demo_vat_id(i, country)}


def demo_vat_id(i: int, country: str) -> str:
    """A VAT id with a correct check digit for customer `i` (made up, but passing the country's check)."""
    base = f"{(i * 7_919 + 1_000_003) % 10**7:07d}"
    if country == "DE":
        body = "1" + base
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    if country == "AT":
        return f"ATU{base}{uid.calc_check_digit('U' + base)}"
    if country == "FR":
        siren = "3" + base + luhn.calc_check_digit("3" + base)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    if country == "NL":
        for first in range(1, 10):  # the eleven-test (BSN) holds for one of these for every base
            for last in range(10):
                number = f"{first}{base}{last}"
                if bsn.checksum(number) == 0:
                    return f"NL{number}B01"
    if country == "GB":
        total = sum(int(digit) * weight for digit, weight in zip(base, range(8, 1, -1), strict=True))
        return f"GB{base}{-total % 97:02d}"
    return ""
