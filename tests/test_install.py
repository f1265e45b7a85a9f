"""What `pip install -c constraints.txt .` gives an operator: every module the package imports comes from a declared
dependency, and every pin installs on the oldest Python that requires-python admits (Debian 12's 3.11.2)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# Imported by our dependencies only when a request needs them, so importing our modules does not load them.
_LAZY = ["python_multipart"]  # starlette, to read a posted form


def _runtime_closure() -> set[str]:
    """The distributions an install of the package brings, following requirements but not extras: pip before 24
    does not match lxml[html_clean] to lxml 6's "html-clean" extra and drops it with a warning, so nothing the
    package needs may come through an extra."""
    found: set[str] = set()
    todo = [Requirement(r) for r in PROJECT["dependencies"]]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in found or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        found.add(name)
        try:
            todo += [Requirement(line) for line in metadata.distribution(name).requires or []]
        except metadata.PackageNotFoundError:
            continue  # not installed on this platform, so nothing here imports it either
    return found


_IMPORT_EVERYTHING = """
import importlib, importlib.abc, json, pkgutil, sys
from importlib import metadata
allowed = set(json.loads(sys.argv[1]))
owners = metadata.packages_distributions()

class Uninstalled(importlib.abc.MetaPathFinder):
    \"\"\"Acts as if every distribution outside `allowed` were not installed, as in a clean install.\"\"\"
    def find_spec(self, name, path=None, target=None):
        dists = {d.lower().replace("_", "-").replace(".", "-") for d in owners.get(name.partition(".")[0], [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (from {sorted(dists)}, not a dependency)")
        return None

sys.meta_path.insert(0, Uninstalled())
import digest
for m in pkgutil.walk_packages(digest.__path__, "digest."):
    importlib.import_module(m.name)
for m in sys.argv[2:]:
    importlib.import_module(m)
print("imported", len(sys.modules))
"""


def test_every_imported_module_comes_with_the_package() -> None:
    """With only what pyproject's dependencies bring installed (no dev extra, no extras at all), every module of
    the package imports, so `pip install .` gives a working `digest` (lxml_html_clean went missing this way)."""
    allowed = sorted(_runtime_closure() | {"probation-digest"})
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING, json.dumps(allowed), *_LAZY], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if m:
            pins[canonicalize_name(m[1])] = m[2]
    return pins


def test_every_pin_installs_on_the_oldest_python_allowed() -> None:
    """Each version constraints.txt pins accepts the lowest Python that requires-python admits, so the README's
    install works on that Python (soupsieve 4.1 needs 3.11.5, and Debian 12 has 3.11.2)."""
    spec = SpecifierSet(PROJECT["requires-python"])
    floors = [Version(s.version) for s in spec if s.operator == ">="]
    assert floors, "requires-python states no floor"
    floor = max(floors)
    assert floor <= Version("3.11.2"), "Debian 12's Python (3.11.2) should install it"
    refused = {}
    for name, pinned in _pins().items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a pin for another platform or Python
        assert dist.version == pinned, f"{name}: {dist.version} installed, {pinned} pinned; run make again"
        needs = dist.metadata.get("Requires-Python")
        if needs and not SpecifierSet(needs).contains(floor, prereleases=True):
            refused[f"{name}=={pinned}"] = needs
    assert not refused, f"pinned versions that Python {floor} cannot install: {refused}"
