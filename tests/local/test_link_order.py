"""The link order (link-order/README.md) reaches the linker where it works, and only there.

Every Lambda function of the template is built by a crate whose build script is `link-order/build.rs` and
which has its list. The build script is compiled here with `rustc` and run the way cargo runs it (its
environment variables), and what it prints is what cargo would hand the linker.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

import cfn  # noqa: E402 - needs the path above

TEMPLATE = cfn.load(REPO / "template.yaml")
CRATES = sorted(
    r["Metadata"]["BuildProperties"]["Binary"]
    for r in TEMPLATE["Resources"].values()
    if r["Type"] == "AWS::Serverless::Function"
)


def test_every_function_crate_uses_the_link_order() -> None:
    assert len(CRATES) >= 6, CRATES
    for crate in CRATES:
        manifest = (REPO / "crates" / crate / "Cargo.toml").read_text()
        assert re.search(r'^build = "\.\./\.\./link-order/build\.rs"$', manifest, re.M), crate
        symbols = (REPO / "link-order" / f"{crate}.txt").read_text().split()
        # The runtime loop of every binary runs: lambda_runtime's symbols are in every list.
        assert len(symbols) > 100 and any("lambda_runtime" in s for s in symbols), crate
        assert len(symbols) == len(set(symbols)), f"{crate}: make link-order writes each symbol once"


@pytest.fixture(scope="module")
def build_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("link-order") / "build-script"
    subprocess.run(["rustc", "--edition", "2021", "-O", str(REPO / "link-order" / "build.rs"), "-o", str(out)],
                   check=True, capture_output=True)
    return out


def run(script: Path, crate: str, **env: str) -> list[str]:
    base = {
        "PATH": "/usr/bin:/bin",
        "CARGO_PKG_NAME": crate,
        "CARGO_MANIFEST_DIR": str(REPO / "crates" / crate),
        "PROFILE": "release",
        "TARGET": "x86_64-unknown-linux-gnu",
    }
    base.update(env)
    done = subprocess.run([str(script)], env={k: v for k, v in base.items() if v is not None},
                          check=True, capture_output=True, text=True)
    return [line for line in done.stdout.splitlines() if line.startswith("cargo:rustc-link-arg")]


def test_a_release_build_with_the_default_linker_gets_the_list(build_script: Path) -> None:
    args = run(build_script, "data-action")
    expected = (REPO / "link-order" / "data-action.txt").resolve()
    # Only the function binary: data-action's other binary (gcx-actions) is a command-line tool.
    assert args == [
        f"cargo:rustc-link-arg-bin=data-action=-Wl,--symbol-ordering-file={expected}",
        "cargo:rustc-link-arg-bin=data-action=-Wl,--no-warn-symbol-ordering",
    ]


@pytest.mark.parametrize("env", [
    {"PROFILE": "debug"},
    {"TARGET": "aarch64-unknown-linux-gnu"},
    {"RUSTC_LINKER": "/usr/local/bin/zigcc"},
    {"GCX_LINK_ORDER": "0"},
], ids=["debug", "arm64", "another-linker", "turned-off"])
def test_other_builds_are_left_alone(build_script: Path, env: dict[str, str]) -> None:
    assert run(build_script, "fanout", **env) == []


def test_a_crate_without_a_list_is_left_alone(build_script: Path) -> None:
    assert run(build_script, "no-such-crate") == []
