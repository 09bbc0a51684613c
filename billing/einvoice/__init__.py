"""E-invoices (EN 16931 in UBL 2.1 and UN/CEFACT CII): reading, and checking against the official rules."""
