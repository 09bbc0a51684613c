"""`python -m billing`: the administration command line."""

from billing.cli import main

raise SystemExit(main())
