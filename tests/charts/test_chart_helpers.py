"""The chart's named templates follow one scheme: chart-wide names are `celerity.<thing>` and live in _helpers.tpl
with the other shared names; everything else is `celerity.<component>.<thing>` and lives beside its component."""

from __future__ import annotations

import re
from collections import Counter

from tests.charts.rendering import CHART_DIR

TEMPLATES = CHART_DIR / "templates"
DEFINE = re.compile(r'\{\{-?\s*define\s+"([^"]+)"')
INCLUDE = re.compile(r'\b(?:include|template)\s+"([^"]+)"')
# Helm's conventional chart-wide names (prometheus-community's _helpers.tpl has the same).
CHART_WIDE = {"name", "fullname", "chart", "labels", "selectorLabels", "image", "imagePullSecrets"}
# Names every component may need from _helpers.tpl: object names and service accounts.
SHARED_COMPONENT_THINGS = {"fullname", "serviceAccountName"}


def _defines() -> dict[str, list[str]]:
    """Define name -> the template files (relative to templates/) that define it."""
    found: dict[str, list[str]] = {}
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in (".tpl", ".yaml", ".txt"):
            for name in DEFINE.findall(path.read_text()):
                found.setdefault(name, []).append(str(path.relative_to(TEMPLATES)))
    return found


def test_every_define_is_celerity_thing_or_celerity_component_thing() -> None:
    for name in _defines():
        parts = name.split(".")
        assert parts[0] == "celerity", name
        assert (len(parts) == 2 and parts[1] in CHART_WIDE) or len(parts) == 3, name


def test_each_define_is_defined_once_and_used() -> None:
    defines = _defines()
    assert not {name: files for name, files in defines.items() if len(files) > 1}
    used = Counter(
        name for path in TEMPLATES.rglob("*") if path.is_file() for name in INCLUDE.findall(path.read_text())
    )
    assert not [name for name in defines if not used[name]], "defined but never included"
    assert not [name for name in used if name not in defines], "included but never defined"


def test_helpers_hold_only_the_shared_names_and_labels() -> None:
    in_helpers = [name for name, files in _defines().items() if "_helpers.tpl" in files]
    for name in in_helpers:
        thing = name.split(".")[-1]
        assert name.count(".") == 1 or thing in SHARED_COMPONENT_THINGS, f"{name} belongs beside its component"
