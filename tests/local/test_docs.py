"""The documented journeys, walked offline: every command the docs give exists and its flags parse, every file
and link they name is there, and the facts they list (parameters, topics, dead-letter fields, variables) match the
code and the template.

What needs AWS or Genesys (`sam deploy`, `aws ...`) is not run; that the template deploys is checked by cfn-lint,
and `sam validate --lint` in tests/template.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", REPO / "CHANGELOG.md", REPO / "local" / "README.md", REPO / "genesys" / "README.md",
               REPO / "bench" / "README.md", REPO / "events" / "README.md", *(REPO / "docs").glob("*.md")])
CATALOGUE = json.loads((REPO / "docs" / "catalogue.json").read_text())


def code_blocks(doc: Path) -> list[str]:
    """The command lines of a document's sh code blocks (continuations joined, comments dropped)."""
    lines: list[str] = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", doc.read_text(), re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line in code_blocks(doc):
            for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
                found.append((doc.relative_to(REPO).as_posix(), part.strip()))
    return found


@cache
def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (REPO / "Makefile").read_text(), re.M))


@cache
def help_text(script: str) -> str:
    done = subprocess.run([sys.executable, REPO / script, "--help"], capture_output=True, text=True, timeout=60,
                          cwd=REPO, check=False)
    assert done.returncode == 0, f"{script} --help failed: {done.stderr[-500:]}"
    return done.stdout


def test_the_docs_have_commands_to_walk() -> None:
    cmds = [c for _, c in commands()]
    assert any(c.startswith("make replay") for c in cmds)
    assert any("local/sanitise.py" in c for c in cmds)
    assert any(c.startswith("make sam-build") for c in cmds)


@pytest.mark.parametrize(("doc", "command"), commands(), ids=lambda v: v[:60])
def test_each_documented_command_exists_and_its_flags_parse(doc: str, command: str) -> None:
    words = shlex.split(command.replace("$(", "(").replace("`", ""), posix=True) if command else []
    words = [w for w in words if not re.fullmatch(r"[A-Z_]+=\S*", w)]  # VAR=value prefixes
    if not words:
        return
    if words[0] == "make":
        for target in (w for w in words[1:] if not w.startswith("-") and "=" not in w):
            assert target in make_targets(), f"{doc}: `{command}`: no make target {target!r}"
        return
    script = next((w for w in words if re.fullmatch(r"(local|events|genesys|scripts)/[\w/.-]+\.(py|sh)", w)), None)
    if script:
        assert (REPO / script).is_file(), f"{doc}: `{command}`: {script} does not exist"
        if script.endswith(".py") and "argparse" in (REPO / script).read_text():
            usage = help_text(script)
            for flag in (w.split("=")[0] for w in words if w.startswith("--")):
                assert flag in usage, f"{doc}: `{command}`: {script} has no option {flag}"
        return
    tool = words[0]
    if tool.startswith(".venv/bin/"):
        assert tool.split("/")[-1] in {"python", "pytest", "sam", "cfn-lint", "checkov", "cargo-lambda", "pip"}, (
            f"{doc}: `{command}`: {tool} is not a tool `make setup` installs")


def markdown_links(doc: Path) -> list[str]:
    return [m for m in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()) if not re.match(r"[a-z]+:", m)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(REPO).as_posix())
def test_links_and_anchors_resolve(doc: Path) -> None:
    broken = []
    for link in markdown_links(doc):
        path, _, anchor = link.partition("#")
        target = (doc.parent / path).resolve() if path else doc
        if not target.exists():
            broken.append(link)
        elif anchor and target.suffix == ".md":
            anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", target.read_text(), re.M)}
            if anchor not in anchors:
                broken.append(link)
    assert broken == [], f"{doc.name}: broken links {broken}"


PATH_RE = re.compile(r"`((?:crates|local|docs|events|genesys|tests|scripts|bench)/[A-Za-z0-9_./-]+)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(REPO).as_posix())
def test_files_named_in_backticks_exist(doc: Path) -> None:
    missing = []
    for path in PATH_RE.findall(doc.read_text()):
        if any(c in path for c in "<>*") or path.startswith(("local/.run", "events/mine")):
            continue
        if not (REPO / path.rstrip("/")).exists():
            missing.append(path)
    assert missing == [], f"{doc.name} names files that do not exist: {missing}"


def test_dead_letter_docs_show_every_field() -> None:
    deploy = (REPO / "docs" / "deploy.md").read_text()
    example = re.search(r"```json\n(\{\"eventId\".*?)```", deploy, re.S)
    assert example, "docs/deploy.md has no dead-letter example"
    shown = set(re.findall(r'"(\w+)":', example.group(1)))
    assert set(CATALOGUE["deadLetterFields"]) <= shown
    contracts = (REPO / "docs" / "contracts.md").read_text()
    assert all(f"`{f}`" in contracts for f in CATALOGUE["deadLetterFields"])
    assert "cannot be re-run" not in deploy and "cannot be re-driven" not in deploy


def test_every_variable_the_code_reads_is_documented() -> None:
    read = set()
    for source in (REPO / "crates").glob("*/src/**/*.rs"):
        if "bench" in source.parts or "test-support" in source.parts:
            continue
        read |= set(re.findall(r'(?:env|optional|required|integer|seconds|flag|list_of|positive|whole|list)\(\s*(?:env,\s*|&?\w+,\s*)?"([A-Z][A-Z0-9_]{2,})"',
                               source.read_text()))
    assert {"GENESYS_REQUESTS_PER_MINUTE", "BATCH_MAX_EVENTS", "WARM_CONNECTIONS"} <= read
    readme = (REPO / "README.md").read_text()
    undocumented = sorted(v for v in read if f"`{v}`" not in readme)
    assert undocumented == [], f"README.md does not document {undocumented}"


def test_local_stack_requirements_are_stated() -> None:
    for doc in ("README.md", "local/README.md", "docs/own-events.md"):
        assert "Linux" in (REPO / doc).read_text(), f"{doc} must say the local stack needs Linux"


def test_deploy_path_needs_only_its_tools() -> None:
    """`make sam-build` installs only the deploy tools (not the whole test toolchain) and runs SAM with .venv on
    PATH, where it finds cargo-lambda. SAM CLI 1.170 builds rust-cargolambda without a beta opt-in: none is left
    (`--beta-features` would turn on every beta feature, not only this one)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nsam-build:", 1)[1].split("\n\n", 1)[0]
    assert recipe.split("##", 1)[0].split() == ["setup-deploy"], recipe
    assert ".venv/bin:" in recipe.replace("$(VENV)", ".venv") and "sam build" in recipe
    for name in ("Makefile", "samconfig.example.toml", "docs/deploy.md", "README.md"):
        text = (REPO / name).read_text()
        assert not re.search(r"^\s*beta_features\s*=|--beta-features|SAM_CLI_BETA", text, re.M), f"{name}: a stale SAM beta opt-in"
    deploy_pins = (REPO / "requirements-deploy.txt").read_text()
    for tool in ("aws-sam-cli==", "cargo-lambda==", "ziglang=="):
        assert tool in deploy_pins
    for other in ("requirements-dev.txt", "local/requirements.txt", "tests/template/requirements.txt"):
        text = (REPO / other).read_text()
        assert not re.search(r"^(aws-sam-cli|cargo-lambda|ziglang)==", text, re.M), f"{other} pins a deploy tool again"
    assert (REPO / "LICENSE").read_text().startswith(" " * 30 + "Apache License")
    version = re.search(r'^version = "(\d+\.\d+\.\d+)"', (REPO / "Cargo.toml").read_text(), re.M).group(1)
    assert f"## [{version}]" in (REPO / "CHANGELOG.md").read_text()
