"""The container image builds from deploy/Dockerfile here and its command starts the portal, which answers
the health check.

No base image can be pulled on these machines (../shared/docs/platform-facts.md, "Containers"): the base is a
Debian 12 with Python 3.11 made with debootstrap and imported into podman (once; about 4 minutes on a busy
2-core machine), the build takes `--build-arg BASE=` it, and the image's command runs with `buildah run`
(`podman run` cannot set its limits in this sandbox). Several minutes in all: marked slow.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import stop_process

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(any(shutil.which(tool) is None for tool in ("podman", "buildah", "debootstrap")),
                                 reason="needs podman, buildah and debootstrap (apt-get install -y podman buildah "
                                        "debootstrap)")]
ROOT = Path(__file__).resolve().parent.parent
BASE = "localhost/debian-python:bookworm"
IMAGE = "localhost/billing-portal-test"
PODMAN = ["podman", "--cgroup-manager=cgroupfs"]
DEBIAN = "http://deb.debian.org/debian"


def debian_mirror() -> str:
    """The Debian URI this machine installs from (its apt sources), else Debian's own."""
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    return DEBIAN


def has_image(name: str) -> bool:
    return subprocess.run([*PODMAN, "image", "exists", name], check=False).returncode == 0


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    if not has_image(BASE):
        root = tmp_path_factory.mktemp("debian") / "root"
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                        "bookworm", str(root), debian_mirror()], check=True, capture_output=True, timeout=900)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run([*PODMAN, "import", "-", BASE], stdin=tar.stdout, check=True, capture_output=True)
        assert tar.wait() == 0
        shutil.rmtree(root, ignore_errors=True)
    mounts = [f"-v={path}:{path}:ro" for path in ("/etc/ssl/certs", "/etc/pip.conf", "/etc/xdg/pip")
              if Path(path).exists()]  # so that pip inside the build reaches the registry as this machine does
    # --format=docker: the OCI image format has no HEALTHCHECK (podman drops it with a warning).
    build = subprocess.run([*PODMAN, "build", "--format=docker", "--isolation=chroot", "--network=host", *mounts,
                            f"--build-arg=BASE={BASE}", "-f", "deploy/Dockerfile", "-t", IMAGE, "."],
                           cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr[-5000:]
    return IMAGE


@pytest.fixture
def container(image: str) -> Iterator[str]:
    name = subprocess.run(["buildah", "from", image], check=True, capture_output=True, text=True).stdout.strip()
    yield name
    subprocess.run(["buildah", "rm", name], check=False, capture_output=True)


def inspect(image: str) -> dict[str, Any]:
    inspected = subprocess.run([*PODMAN, "image", "inspect", image], check=True, capture_output=True, text=True)
    found: dict[str, Any] = json.loads(inspected.stdout)[0]
    return found


def test_the_image_runs_the_portal_as_a_non_root_user_and_answers_its_health_check(image: str,
                                                                                  container: str) -> None:
    found = inspect(image)
    config = found["Config"]
    assert config["User"] == "billing"
    assert "/_stcore/health" in " ".join(found["Healthcheck"]["Test"])
    command = config["Cmd"]
    assert isinstance(command, list) and command[:3] == ["streamlit", "run", "app.py"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The image's own command; the port moved (the host's network is shared) and the address kept local.
    process = subprocess.Popen(["buildah", "run", "--isolation=chroot", "--network=host", container, "--", *command,
                                f"--server.port={port}", "--server.address=127.0.0.1"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, answer = time.monotonic() + 120, ""
        while time.monotonic() < deadline and process.poll() is None and answer != "ok":
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text.strip()
            except httpx.HTTPError:
                time.sleep(0.5)
        assert answer == "ok", process.stdout.read() if process.poll() is not None and process.stdout else answer
        whoami = subprocess.run(["buildah", "run", "--isolation=chroot", container, "--", "id", "-un"],
                                capture_output=True, text=True, check=True)
        assert whoami.stdout.strip() == "billing"
    finally:
        stop_process(process, grace=10)
