"""What the workspace promises about itself: the Rust version it needs covers every dependency's own, and the folder
docs/own-events.md captures raw customer events into is never committed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def test_rust_version_covers_every_dependency():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline"], cwd=REPO, check=True,
        capture_output=True, text=True).stdout)
    members = set(metadata["workspace_members"])
    ours = {p["rust_version"] for p in metadata["packages"] if p["id"] in members and p.get("rust_version")}
    (workspace,) = ours
    needed = {p["name"]: p["rust_version"] for p in metadata["packages"]
              if p["id"] not in members and p.get("rust_version")}
    above = {name: v for name, v in needed.items() if version(v) > version(workspace)}
    assert not above, f"Cargo.toml's rust-version {workspace} is below what these need: {above}"


def test_captured_events_are_never_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", "captured/logs.json"], cwd=REPO)
    assert ignored.returncode == 0, "captured/ (docs/own-events.md) must be in .gitignore"
    assert "captured/" in (REPO / "docs" / "own-events.md").read_text()
