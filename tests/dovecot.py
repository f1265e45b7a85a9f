"""A real IMAP server on 127.0.0.1 for the bounce mailbox tests: Debian's dovecot-imapd with a throwaway
configuration in a temporary folder (one user, plain-text login, maildir, no TLS). Installed with apt-get when
the tests run as root and it is missing; the tests are skipped, saying why, otherwise."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "imap-test-password"


@dataclass(frozen=True)
class Imap:
    port: int
    user: str
    password: str
    home: Path


def _install() -> str | None:
    """None once dovecot is there, else why it cannot be."""
    if Path(DOVECOT).exists():
        return None
    if os.geteuid() != 0:
        return "dovecot-imapd is not installed and the tests are not running as root to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "install", "-y", "-q", "dovecot-imapd"], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode != 0 or not Path(DOVECOT).exists():
        return f"apt-get install dovecot-imapd failed: {done.stderr.strip()[-300:]}"
    return None


def _config(root: Path, port: int) -> str:
    me = pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:  # dovecot will not deliver as root: the mail belongs to nobody
        owner, login, internal = pwd.getpwnam("nobody"), "dovenull", "dovecot"
    else:
        owner, login, internal = pwd.getpwuid(os.geteuid()), me, me
    home = root / "home"
    home.mkdir(mode=0o755)
    os.chown(home, owner.pw_uid, owner.pw_gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
first_valid_uid = 1
mail_location = maildir:{home}/Maildir
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={home}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Imap]:
    why = _install()
    if why:
        pytest.skip(why)
    root = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
    root.chmod(0o755)  # the mail user (nobody, when root) must reach its home inside
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_config(root, port))
    log = (root / "stderr.log").open("wb")
    # In the foreground (-F), so the process is ours to stop by its id.
    server = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                shutil.rmtree(root, ignore_errors=True)
                pytest.fail(f"dovecot did not start: {(root / 'stderr.log').read_text(errors='replace')}")
            time.sleep(0.05)
    try:
        yield Imap(port, USER, PASSWORD, root / "home")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
