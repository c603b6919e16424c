"""`make release`'s packaging (scripts/release.py), without the 16-minute arm64 build: the bundle's template is the
source template with only each function's code swapped for its zip, and passes `sam validate --lint`; zips hold an
executable `bootstrap`; SHA256SUMS verifies with `sha256sum -c` and catches a changed file; only an AArch64 ELF is
accepted as a function binary; the CHANGELOG section says whether the bundle is the release's commit."""
from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))
from cfn import load as load_template  # noqa: E402  (cfn-lint's loader, as the template tests read it)

spec = importlib.util.spec_from_file_location("release", REPO / "scripts" / "release.py")
release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(release)

TEMPLATE = (REPO / "template.yaml").read_text(encoding="utf-8")


def serverless_functions(template: dict) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def test_every_function_is_found_with_its_binary() -> None:
    functions = release.functions(TEMPLATE)
    declared = serverless_functions(load_template(REPO / "template.yaml"))
    assert {lid for lid, _ in functions} == set(declared)
    for lid, binary in functions:
        assert declared[lid]["Metadata"]["BuildProperties"]["Binary"] == binary


def test_a_function_in_another_form_is_refused() -> None:
    unbuilt = TEMPLATE.replace(
        "    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: fanout\n", "", 1)
    assert unbuilt != TEMPLATE
    with pytest.raises(release.ReleaseError, match="declares 6 functions but 5"):
        release.functions(unbuilt)


def test_bundle_template_changes_only_each_functions_code(tmp_path: Path) -> None:
    functions = release.functions(TEMPLATE)
    zips = {binary: f"{binary}.zip" for _, binary in functions}
    bundled_path = tmp_path / "template.yaml"
    bundled_path.write_text(release.bundle_template(TEMPLATE, zips), encoding="utf-8")
    source, bundled = load_template(REPO / "template.yaml"), load_template(bundled_path)
    expected = copy.deepcopy(source)
    for lid, binary in functions:
        expected["Resources"][lid].pop("Metadata")
        expected["Resources"][lid]["Properties"]["CodeUri"] = f"{binary}.zip"
    assert bundled == expected


def test_bundle_template_passes_sam_validate_lint(tmp_path: Path) -> None:
    functions = release.functions(TEMPLATE)
    (tmp_path / "template.yaml").write_text(
        release.bundle_template(TEMPLATE, {b: f"{b}.zip" for _, b in functions}), encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run([str(REPO / ".venv" / "bin" / "sam"), "validate", "--lint", "-t", "template.yaml"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def aarch64_elf(path: Path) -> Path:
    """The first 20 bytes of an AArch64 ELF executable header, enough for the check release makes."""
    header = bytearray(b"\x7fELF\x02\x01\x01" + bytes(9))
    header += (2).to_bytes(2, "little") + (release.EM_AARCH64).to_bytes(2, "little")
    path.write_bytes(bytes(header) + b"rest of the program")
    return path


def test_only_an_arm64_binary_is_packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(release, "ROOT", tmp_path)
    (tmp_path / "target" / "lambda" / "fanout").mkdir(parents=True)
    with pytest.raises(release.ReleaseError, match="missing"):
        release.bootstrap_of("fanout")
    bootstrap = tmp_path / "target" / "lambda" / "fanout" / "bootstrap"
    shutil.copy(sys.executable, bootstrap)  # this machine's (x86_64) Python: an ELF, not for arm64
    if os.uname().machine != "aarch64":
        with pytest.raises(release.ReleaseError, match="not an arm64"):
            release.bootstrap_of("fanout")
    aarch64_elf(bootstrap)
    assert release.bootstrap_of("fanout") == bootstrap


def test_zip_holds_an_executable_bootstrap_and_is_reproducible(tmp_path: Path) -> None:
    binary = aarch64_elf(tmp_path / "bootstrap")
    release.write_zip(binary, tmp_path / "a.zip")
    release.write_zip(binary, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        [entry] = archive.infolist()
        assert entry.filename == "bootstrap"
        assert (entry.external_attr >> 16) & 0o777 == 0o755
        assert archive.read("bootstrap") == binary.read_bytes()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_checksums_verify_and_catch_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "genesys").mkdir()
    (tmp_path / "a.zip").write_bytes(b"zip")
    (tmp_path / "genesys" / "x.json").write_text("{}")
    release.checksums(tmp_path)
    lines = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["a.zip", "genesys/x.json"]
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode == 0
    (tmp_path / "a.zip").write_bytes(b"zip, changed")
    assert subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True).returncode != 0
    with pytest.raises(subprocess.CalledProcessError):
        release.verify_checksums(tmp_path)


def test_changelog_section_says_whether_it_is_the_release(monkeypatch: pytest.MonkeyPatch) -> None:
    version = release.version()
    heading = next(line for line in (REPO / "CHANGELOG.md").read_text().splitlines() if line.startswith(f"## [{version}]"))
    named = heading.split("(commit ", 1)[1].split(")", 1)[0]
    notes, released = release.changelog_section(version, {"commit": named + "0" * (40 - len(named)), "dirty": False})
    assert released and notes.count("\n## [") == 1 and f"## [{version}]" in notes
    monkeypatch.setattr(release, "changed_since", lambda commit: {"CHANGELOG.md", "template.yaml"})
    notes, released = release.changelog_section(version, {"commit": "f" * 40, "dirty": False})
    assert not released and "not from the commit of the" in notes and f"## [{version}]" in notes
    # The commit after the release, which only names it in the CHANGELOG heading, is still the release.
    monkeypatch.setattr(release, "changed_since", lambda commit: {"CHANGELOG.md"})
    assert release.changelog_section(version, {"commit": "f" * 40, "dirty": False})[1]
    assert not release.changelog_section(version, {"commit": "f" * 40, "dirty": True})[1]
    with pytest.raises(release.ReleaseError, match=r"no `## \[9.9.9\]`"):
        release.changelog_section("9.9.9", {"commit": None, "dirty": None})
