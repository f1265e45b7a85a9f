"""The container image as an operator runs it: `make image` builds it; `digest serve` in it, with a mounted
config and a /data volume, answers /health, runs the demo's poll and send, runs as non-root, keeps its links
working across a restart and stops on SIGTERM within 10 seconds. And compose.yaml wires the same.

Building and running take 1-3 minutes (more the first time, when the tool makes its Debian base image), so this
runs only with DIGEST_IMAGE_TEST=1 (`make image-test`); SUITE=bookworm builds on Debian 12's Python 3.11.2.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from digest.auth import hash_password

from .conftest import REPO, free_port

TOOL = REPO.parent / "shared" / "tools" / "container"
SUITE = os.environ.get("SUITE", "trixie")


class Box:
    """The container tool, with the flags this machine needs."""

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(TOOL), *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, "SUITE": SUITE}
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def podman(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self("podman", *args, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> Iterator[tuple[Box, str]]:
    if os.environ.get("DIGEST_IMAGE_TEST") != "1":
        pytest.skip("builds and runs the container image (1-3 minutes): set DIGEST_IMAGE_TEST=1 or run make image-test")
    if not TOOL.is_file():
        pytest.skip(f"{TOOL} is missing: it builds and runs images here (a local base, as the registry is unreachable)")
    if os.geteuid() != 0:
        pytest.skip("the container tool needs root (it installs podman with apt-get and runs it rootful)")
    tag = f"localhost/probation-digest-test:{SUITE}"
    built = subprocess.run(
        ["make", "image", f"IMAGE={tag}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "SUITE": SUITE},
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield Box(), tag


def _config(port: int) -> str:
    """The demo's settings (its four feeds, served offline from the mounted demo/web), with state under /data."""
    text = (REPO / "demo" / "digest.yml").read_text(encoding="utf-8")
    for key, value in {
        "public_url": f"http://127.0.0.1:{port}",
        "database": "/data/digest.sqlite3",
        "subscribers_file": "/data/subscribers.yml",
        "mirror_dir": "/demo/web",
        "outbox_dir": "/data/outbox",
    }.items():
        text, n = re.subn(rf"^(\s*{key}:) .*$", rf"\1 {value}", text, flags=re.M)
        assert n == 1, key
    # A send time the test will not be running at: the service neither sends (the test does) nor is overdue.
    return text + "web:\n  host: 0.0.0.0\nschedule:\n  send_time: '23:58'\n  missed_cutoff: '23:59'\n"


def _healthy(box: Box, name: str, base: str, seconds: float = 90, status: int = 200) -> httpx.Response:
    """/health's first answer with this status (200: healthy), waiting for the service to start."""
    deadline = time.monotonic() + seconds
    answer = "no answer"
    while True:
        try:
            r = httpx.get(f"{base}/health", timeout=5)
            if r.status_code == status:
                return r
            answer = f"{r.status_code} {r.text}"
        except httpx.TransportError as exc:
            answer = repr(exc)
        if time.monotonic() > deadline:
            logs = box.podman("logs", name, check=False)
            raise AssertionError(f"/health never gave {status} ({answer}); the container's log:\n{logs.stderr[-3000:]}")
        time.sleep(0.5)


def _stop(box: Box, name: str) -> float:
    """SIGTERM the container; the seconds its process took to exit, having checked it exited cleanly. Timed by
    the container's own finishing time: `podman wait` itself takes some 20 s to notice, here, without systemd."""
    start = time.time()
    box.podman("kill", "--signal", "TERM", name)
    code = box.podman("wait", name, timeout=60).stdout.strip()
    assert code in ("0", "143"), f"exit code {code}"
    finished = box.podman("inspect", name, "--format", "{{.State.FinishedAt.UnixNano}}").stdout
    return int(finished) / 1e9 - start


def test_the_image_serves_runs_the_demo_as_non_root_and_stops_on_sigterm(
    image: tuple[Box, str], tmp_path: Path
) -> None:
    """`digest serve` in the image, with a mounted config and a /data volume: /health answers 200; the demo's
    poll and send run in it and write the digest to the volume; nothing runs as root; the key that signs links is
    made in the volume (0600) and the email's unsubscribe link still opens after a restart; SIGTERM stops it
    cleanly within 10 seconds."""
    box, tag = image
    inspected = box.podman("image", "inspect", tag, "--format", "{{.Config.User}}|{{.Config.Healthcheck.Test}}")
    user, health = inspected.stdout.strip().split("|")
    assert user == "digest" and "/health" in health

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "digest.yml"
    config.write_text(_config(port), encoding="utf-8")
    name = f"digest-test-{SUITE}-{os.getpid()}"
    box.podman("volume", "create", name)
    try:
        box(
            "run",
            "-d",
            "--name",
            name,
            "-v",
            f"{name}:/data",
            "-v",
            f"{config}:/config/digest.yml:ro",
            "-v",
            f"{REPO / 'demo' / 'web'}:/demo/web:ro",
            "-e",
            f"DIGEST_ADMIN_PASSWORD_HASH={hash_password('correct horse')}",
            tag,
            # The image's command, on a free port: the container shares this machine's network.
            "digest",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        )
        # Started with nobody on the list: /health says the send would refuse it, until a reader is added.
        unready = _healthy(box, name, base, status=503).json()["problems"]
        assert any(p.startswith("no one is on the subscriber list") for p in unready), unready

        def run(*cmd: str) -> str:
            return box.podman("exec", name, *cmd, timeout=300).stdout

        run("digest", "subscribers", "add", "reader@example.org")
        assert _healthy(box, name, base).json()["status"] == "ok"
        assert "summarised" in run("digest", "poll")
        assert "1 sent, 0 failed" in run("digest", "send")
        (eml,) = run("find", "/data/outbox", "-name", "*.eml").split()
        msg = message_from_bytes(run("cat", eml).encode(), policy=policy.default)
        link = re.search(r"<(http://[^>]+/unsubscribe/[^>]+)>", str(msg["List-Unsubscribe"]))[1]  # type: ignore[index]

        assert run("id", "-u").strip() != "0"
        uids = re.search(r"^Uid:\s+(.*)$", run("cat", "/proc/1/status"), re.M)[1].split()  # type: ignore[index]
        assert "0" not in uids, f"the service runs with uids {uids}"
        assert run("stat", "-c", "%a %U", "/data/digest.secret").split() == ["600", "digest"]

        assert httpx.get(link, timeout=10).status_code == 200
        assert _stop(box, name) < 10
        assert "Finished server process" in box.podman("logs", name).stderr + box.podman("logs", name).stdout

        box.podman("start", name)
        _healthy(box, name, base)
        page = httpx.get(link, timeout=10)
        assert page.status_code == 200 and "reader@example.org" in page.text
        assert _stop(box, name) < 10
    finally:
        box.podman("rm", "-f", name, check=False)
        box.podman("volume", "rm", "-f", name, check=False)


def test_compose_file_runs_the_image_with_secrets_from_the_environment() -> None:
    """compose.yaml, for an operator to copy: the image, the config mounted read-only, state in a named /data
    volume, secrets from an env file (never written in it), a health check on /health and time to stop."""
    compose = YAML(typ="safe").load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    (service,) = compose["services"].values()
    assert service["build"] == "." and service["image"] == "probation-digest"
    assert "./digest.yml:/config/digest.yml:ro" in service["volumes"]
    volume = next(v for v in service["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose["volumes"]
    assert service["env_file"] == "digest.env"
    assert "environment" not in service  # no secret is ever written in the file itself
    assert "/health" in " ".join(service["healthcheck"]["test"])
    assert service["stop_signal"] == "SIGTERM" and service["restart"] == "unless-stopped"
