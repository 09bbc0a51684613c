"""Bank statements: parsing camt.05x, MT940 and mapped CSV files, matching their lines to invoices."""
