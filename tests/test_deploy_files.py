"""The container image holds every package the app imports (a missing one only shows when the image runs)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_IN_THE_APP = {"tests", "benchmarks"}


def test_the_dockerfile_copies_every_package_and_the_page_scripts() -> None:
    copied = {line.split()[1] for line in (ROOT / "deploy" / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and not line.startswith("COPY --")}
    packages = {path.name for path in ROOT.iterdir()
                if path.is_dir() and (path / "__init__.py").exists() and path.name not in NOT_IN_THE_APP}
    assert packages | {"app_pages", "app.py"} <= copied, sorted(packages | {"app_pages", "app.py"} - copied)
