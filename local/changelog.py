"""CHANGELOG.md as the release tools read it (local/upgrade_check.py, scripts/release.py): its sections by name
(`## [Unreleased]`, `## [0.3.0] - 2026-11-30 (commit dcc95be)`), and the commit a release heading names.
Standard library only: `make release` runs it with nothing but the deploy tools installed."""

from __future__ import annotations

import re
from pathlib import Path

HEADING_RE = re.compile(r"^## \[([^\]]+)\]")
COMMIT_RE = re.compile(r"\(commit ([0-9a-f]{7,40})\)")


def sections(path: Path) -> dict[str, str]:
    """Each `## [name]` section's text, heading included, in file order."""
    parts = re.split(r"(?m)^(?=## \[)", path.read_text(encoding="utf-8"))
    return {m.group(1): part for part in parts if (m := HEADING_RE.match(part))}


def release_commit(section: str) -> str | None:
    """The commit a release section's heading names, if any."""
    m = COMMIT_RE.search(section.splitlines()[0]) if section else None
    return m.group(1) if m else None


def last_release(path: Path) -> str:
    """The commit the newest release heading names (`## [X.Y.Z] - date (commit abc1234)`)."""
    for name, text in sections(path).items():
        if re.fullmatch(r"\d+\.\d+\.\d+", name) and (commit := release_commit(text)):
            return commit
    raise ValueError("CHANGELOG.md names no release commit (`## [X.Y.Z] - date (commit abc1234)`)")


def unreleased_breaking(path: Path) -> str:
    """The text of the [Unreleased] section's Breaking list ("" without one)."""
    unreleased = sections(path).get("Unreleased", "")
    return unreleased.split("### Breaking", 1)[1].split("\n### ", 1)[0] if "### Breaking" in unreleased else ""


def has_entries(section: str) -> bool:
    """Whether a section holds anything besides its heading and blank lines."""
    return bool(section.split("\n", 1)[1].strip()) if "\n" in section else False
