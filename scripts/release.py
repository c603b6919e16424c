#!/usr/bin/env python3
"""`make release`: the bundle an ops team deploys without Rust, in dist/<version>/.

    dist/<version>/
      <binary>.zip          one per function of template.yaml: an arm64 `bootstrap` (provided.al2023)
      <binary>.cdx.json     CycloneDX 1.5 SBOM of that binary's Rust dependencies (cargo-cyclonedx, aarch64)
      template.yaml         template.yaml with each function's CodeUri the zip above (no build step left)
      state_machine.asl.json  the template's DefinitionUri, beside it
      samconfig.example.toml  the SAM CLI configuration to copy and fill in
      genesys/              the Genesys import files, schemas and Terraform of the data actions
      CHANGELOG.md          this version's section (and the unreleased entries, for a build between releases)
      RELEASE.json          version, commit, toolchain, and what each zip holds
      README.md             how to check and deploy the bundle
      SHA256SUMS            every file above, in `sha256sum -c` format

Usage: python3 scripts/release.py [--out dist] [--skip-build] [--no-validate]

Needs cargo-lambda (with Zig) and the SAM CLI on PATH, the aarch64-unknown-linux-gnu target, and cargo-cyclonedx:
`make release` installs them (scripts/setup.sh release). `--skip-build` packages the binaries already in
target/lambda/ (from an earlier `make release`), for iterating on the packaging.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "local"))
import changelog  # noqa: E402  (local/changelog.py, shared with upgrade_check.py)
TARGET = "aarch64-unknown-linux-gnu"
# ELF e_machine of AArch64: what Lambda's arm64 architecture runs.
EM_AARCH64 = 0xB7
# Zip entries get this date, so the same binaries give the same zips (1980 is the earliest a zip can hold).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# A function resource of template.yaml as the source tree declares it: built by SAM from the workspace.
FUNCTION_RE = re.compile(
    r"^  (?P<id>[A-Za-z0-9]+):\n"
    r"    Type: AWS::Serverless::Function\n"
    r"    Metadata:\n"
    r"      BuildMethod: rust-cargolambda\n"
    r"      BuildProperties:\n"
    r"        Binary: (?P<binary>[a-z0-9-]+)\n"
    r"(?P<body>(?:    .*\n|[ \t]*\n)*)",
    re.M,
)
CODE_URI_RE = re.compile(r"^      CodeUri: \.\n", re.M)


class ReleaseError(Exception):
    """A release cannot be made as asked: the message says why and what to do."""


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("$ " + " ".join(args), flush=True)
    return subprocess.run(args, cwd=ROOT, check=True, **kwargs)


def output(args: list[str]) -> str:
    return subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def version() -> str:
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    return manifest["workspace"]["package"]["version"]


def git_state() -> dict:
    """The commit the bundle is built from, and whether the work tree differs from it."""
    try:
        commit = output(["git", "rev-parse", "HEAD"])
        dirty = output(["git", "status", "--porcelain", "--untracked-files=no"]) != ""
        when = output(["git", "show", "-s", "--format=%cI", "HEAD"])
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {"commit": None, "dirty": None, "committed": None}
    return {"commit": commit, "dirty": dirty, "committed": when}


def changed_since(commit: str) -> set[str] | None:
    """The files that differ between `commit` and HEAD, or None when git cannot tell (no such commit here)."""
    try:
        return set(output(["git", "diff", "--name-only", commit, "HEAD"]).split())
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def functions(template: str) -> list[tuple[str, str]]:
    """(logical id, binary) of every function, in template order; every function must be one SAM builds."""
    found = [(m["id"], m["binary"]) for m in FUNCTION_RE.finditer(template)]
    declared = len(re.findall(r"^    Type: AWS::Serverless::Function$", template, re.M))
    if not found or len(found) != declared:
        raise ReleaseError(
            f"template.yaml declares {declared} functions but {len(found)} in the form this script packages "
            "(Type, then Metadata: BuildMethod: rust-cargolambda, BuildProperties: Binary): keep that order"
        )
    return found


def bundle_template(template: str, zips: dict[str, str]) -> str:
    """template.yaml with each function's build metadata dropped and its `CodeUri: .` the zip of its binary."""

    def rewrite(m: re.Match) -> str:
        body, count = CODE_URI_RE.subn(f"      CodeUri: {zips[m['binary']]}\n", m["body"], count=1)
        if count != 1:
            raise ReleaseError(f"{m['id']}: no `CodeUri: .` among its properties")
        return f"  {m['id']}:\n    Type: AWS::Serverless::Function\n{body}"

    header = (
        f"# Release bundle template: template.yaml of the source with each function's CodeUri the zip of its\n"
        f"# prebuilt arm64 binary (scripts/release.py). Deploy: README.md beside this file.\n"
    )
    return header + FUNCTION_RE.sub(rewrite, template)


def build(binaries: list[str]) -> None:
    step(f"cargo lambda build --release --arm64: {', '.join(binaries)} (a release build for arm64: about 7 minutes on 2 cores the first time)")
    args = ["cargo", "lambda", "build", "--release", "--arm64", "--locked"]
    for binary in binaries:
        args += ["--bin", binary]
    run(args)


def bootstrap_of(binary: str) -> Path:
    path = ROOT / "target" / "lambda" / binary / "bootstrap"
    if not path.is_file():
        raise ReleaseError(f"{path.relative_to(ROOT)} is missing: run without --skip-build")
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != EM_AARCH64:
        raise ReleaseError(f"{path.relative_to(ROOT)} is not an arm64 (AArch64) ELF executable")
    return path


def write_zip(bootstrap: Path, dest: Path) -> None:
    entry = zipfile.ZipInfo("bootstrap", date_time=ZIP_DATE)
    entry.external_attr = (0o100755 << 16)  # a regular file, executable: Lambda runs it as is
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, so the mode above is read
    with zipfile.ZipFile(dest, "w") as archive:
        archive.writestr(entry, bootstrap.read_bytes(), compresslevel=9)


def sboms(binaries: list[str], out: Path) -> None:
    """One CycloneDX SBOM per function binary: what it links for aarch64, build-only dependencies left out."""
    step("cargo cyclonedx: the SBOM of each function's Rust dependencies")
    written = lambda: set(ROOT.glob("crates/*/*.cdx.json"))  # noqa: E731
    for stale in written():
        stale.unlink()
    run(["cargo", "cyclonedx", "--describe", "binaries", "--target", TARGET, "--spec-version", "1.5",
         "--format", "json", "--no-build-deps", "--quiet"])
    try:
        for binary in binaries:
            matches = list(ROOT.glob(f"crates/*/{binary}_bin.cdx.json"))
            if len(matches) != 1:
                raise ReleaseError(f"cargo cyclonedx wrote {len(matches)} SBOMs for {binary}, expected 1")
            bom = json.loads(matches[0].read_text(encoding="utf-8"))
            if bom.get("bomFormat") != "CycloneDX" or not bom.get("components"):
                raise ReleaseError(f"{matches[0]} is not a CycloneDX SBOM with components")
            # The workspace's own crates are named by their path on the build machine: name them from the
            # source root instead, so the SBOM (and its checksum) is the same wherever the release is built.
            text = json.dumps(bom, indent=2).replace(ROOT.as_uri(), "file:///source").replace(str(ROOT), "/source")
            (out / f"{binary}.cdx.json").write_text(text + "\n", encoding="utf-8")
    finally:
        for leftover in written():  # it writes one per binary of every crate next to its Cargo.toml
            leftover.unlink()


def changelog_section(version: str, state: dict) -> tuple[str, bool]:
    """This version's CHANGELOG section, and whether HEAD is that release's commit (else the unreleased entries
    come first: the bundle holds them)."""
    by_name = changelog.sections(ROOT / "CHANGELOG.md")
    if version not in by_name:
        raise ReleaseError(f"CHANGELOG.md has no `## [{version}]` section for the version in Cargo.toml")
    named = changelog.release_commit(by_name[version])
    # A release commit cannot name itself: the heading is amended by the next commit, so HEAD is still the release
    # when nothing but CHANGELOG.md changed since the commit the heading names.
    released = bool(named and state["commit"] and not state["dirty"] and (
        state["commit"].startswith(named) or changed_since(named) == {"CHANGELOG.md"}))
    unreleased = by_name.get("Unreleased", "")
    has_unreleased = changelog.has_entries(unreleased)
    parts = [f"# Changes in this bundle ({version})\n\n"]
    if not released:
        where = state["commit"][:12] if state["commit"] else "an unknown commit"
        parts.append(
            f"Built from {where}{' with local changes' if state['dirty'] else ''}, not from the commit of the "
            f"{version} release{f' ({named})' if named else ''}"
            + (": it also holds the unreleased changes listed first.\n\n" if has_unreleased else ".\n\n")
        )
        if has_unreleased:
            parts.append(unreleased.rstrip() + "\n\n")
    parts.append(by_name[version].rstrip() + "\n")
    return "".join(parts), released


BUNDLE_README = """# Genesys Cloud CX to AWS {version}: release bundle

Prebuilt for AWS Lambda arm64 (`provided.al2023`): deploying it needs only the AWS SAM CLI and credentials for
the target account. Deploy in the AWS region of your Genesys org (Genesys invokes the data action only there).

```sh
(cd dist/{version} && sha256sum -c SHA256SUMS)    # macOS: shasum -a 256 -c SHA256SUMS
sam deploy -t dist/{version}/template.yaml --config-file "$PWD/samconfig.toml"    # --guided the first time
```

Run them from the folder that holds this bundle as `dist/{version}/` and your `samconfig.toml`. `--config-file` keeps your SAM configuration outside the bundle, so the next version's bundle reuses it: start it
from `samconfig.example.toml` here (its placeholders fail fast if left in). The parameters, the Genesys set-up
(`genesys/`) and what to check after the first deployment are in docs/deploy.md of the source at this version.
CHANGELOG.md says what changed; `make upgrade-check FROM=<the version you run>` in the source checks an upgrade
keeps your data. RELEASE.json names the commit the binaries were built from; `<binary>.cdx.json` lists each
binary's Rust dependencies (CycloneDX).
"""


def checksums(out: Path) -> None:
    lines = []
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != "SHA256SUMS"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(out).as_posix()}\n")
    (out / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")


def verify_checksums(out: Path) -> None:
    step("sha256sum -c SHA256SUMS")
    tool = ["sha256sum", "-c", "--quiet", "SHA256SUMS"] if shutil.which("sha256sum") else (
        ["shasum", "-a", "256", "-c", "--quiet", "SHA256SUMS"] if shutil.which("shasum") else None)
    if tool is None:
        raise ReleaseError("neither sha256sum nor shasum is on PATH to verify SHA256SUMS")
    subprocess.run(tool, cwd=out, check=True)
    print(f"{len((out / 'SHA256SUMS').read_text().splitlines())} files verified")


def validate(out: Path) -> None:
    step("sam validate --lint on the bundle's template")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    subprocess.run(["sam", "validate", "--lint", "-t", str(out / "template.yaml")], cwd=out, check=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where dist/<version>/ goes (default dist)")
    parser.add_argument("--skip-build", action="store_true", help="package target/lambda/ as it is")
    parser.add_argument("--no-validate", action="store_true", help="skip `sam validate --lint`")
    args = parser.parse_args()

    ver = version()
    state = git_state()
    out = (args.out / ver).resolve()
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    funcs = functions(template)
    binaries = [binary for _, binary in funcs]
    print(f"release {ver}: {len(funcs)} functions ({', '.join(binaries)}) into {out}")
    if state["dirty"]:
        print("warning: the work tree has uncommitted changes; RELEASE.json records it", file=sys.stderr)

    if not args.skip_build:
        build(binaries)
    bootstraps = {binary: bootstrap_of(binary) for binary in binaries}

    step(f"writing {out}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    zips = {}
    for binary, bootstrap in bootstraps.items():
        zips[binary] = f"{binary}.zip"
        write_zip(bootstrap, out / zips[binary])
    (out / "template.yaml").write_text(bundle_template(template, zips), encoding="utf-8")
    for asset in re.findall(r"^\s+DefinitionUri: (\S+)$", template, re.M):
        shutil.copy2(ROOT / asset, out / asset)
    shutil.copy2(ROOT / "samconfig.example.toml", out / "samconfig.example.toml")
    shutil.copytree(ROOT / "genesys", out / "genesys")
    notes, released = changelog_section(ver, state)
    (out / "CHANGELOG.md").write_text(notes, encoding="utf-8")
    (out / "README.md").write_text(BUNDLE_README.format(version=ver), encoding="utf-8")
    sboms(binaries, out)
    rustc = output(["rustc", "--version"])
    lambda_version = output(["cargo", "lambda", "--version"])
    release = {
        "version": ver,
        "release": released,
        **state,
        "target": TARGET,
        "toolchain": {"rustc": rustc, "cargo-lambda": lambda_version},
        "functions": [
            {"logicalId": logical_id, "binary": binary, "zip": zips[binary],
             "bootstrapBytes": bootstraps[binary].stat().st_size,
             "bootstrapSha256": hashlib.sha256(bootstraps[binary].read_bytes()).hexdigest()}
            for logical_id, binary in funcs
        ],
    }
    (out / "RELEASE.json").write_text(json.dumps(release, indent=2) + "\n", encoding="utf-8")
    checksums(out)
    verify_checksums(out)
    if not args.no_validate:
        validate(out)

    step(f"dist/{ver} written{'' if released else ' (a build between releases: see its CHANGELOG.md)'}")
    for path in sorted(p for p in out.iterdir() if p.is_file()):
        print(f"  {path.stat().st_size:>10,}  {path.name}")
    print(f"  {'':>10}  genesys/ ({sum(1 for p in (out / 'genesys').rglob('*') if p.is_file())} files)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        print(f"release: `{' '.join(map(str, error.cmd))}` failed (exit {error.returncode})", file=sys.stderr)
        sys.exit(1)
