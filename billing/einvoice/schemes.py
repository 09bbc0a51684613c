"""The electronic address schemes (EAS code list, BT-34/BT-49) as the project's EN 16931 rules accept them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

# The code list is the one rule BR-CL-25 checks endpoint schemes against, read from the rule file itself so the
# portal offers exactly what a validator accepts.
_RULE_FILE = Path(__file__).resolve().with_name("rules") / "EN16931-UBL-validation.xslt"
_LIST = re.compile(r"cbc:EndpointID\[@schemeID\].*?contains\('\s*([0-9A-Z ]+?)\s*'", re.DOTALL)
# Names of the schemes people use most; any other code is offered by its number.
SCHEME_NAMES = {"0002": "SIRENE (FR)", "0007": "Organisationsnummer (SE)", "0009": "SIRET (FR)", "0060": "DUNS",
                "0088": "GLN", "0106": "KvK (NL)", "0184": "CVR (DK)", "0190": "OIN (NL)",
                "0192": "Organisasjonsnummer (NO)",
                "0204": "Leitweg-ID (DE)", "0208": "Enterprise number (BE)", "0209": "GS1 (other)",
                "9914": "UID (AT)", "9925": "VAT (BE)", "9930": "VAT (DE)", "9957": "VAT (FR)", "EM": "E-mail"}


@cache
def eas_codes() -> tuple[str, ...]:
    """Every code of the EAS list the EN 16931 rules (BR-CL-25) accept, in the list's order."""
    found = _LIST.search(_RULE_FILE.read_text(encoding="utf-8"))
    if found is None:
        raise RuntimeError(f"The EAS code list (BR-CL-25) was not found in {_RULE_FILE.name}.")
    return tuple(found[1].split())


def scheme_label(code: str) -> str:
    """"0088 GLN", "EM E-mail", or the code alone."""
    return f"{code} {SCHEME_NAMES[code]}" if code in SCHEME_NAMES else code
