"""The offline scanners: checkov (its own venv, .tools/checkov) and cfn-lint's informational checks, both clean.

Every checkov skip lives in .checkov.yaml with a one-line reason; a new finding fails here until it is fixed in the
template or skipped there with its reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
CONFIG = ROOT / ".checkov.yaml"


def test_every_checkov_skip_says_why():
    skips = re.findall(r"^\s*- (CKV\w+)(.*)$", CONFIG.read_text(), re.M)
    assert skips, "no skips parsed from .checkov.yaml"
    for check, rest in skips:
        reason = rest.partition("#")[2].strip()
        assert len(reason) >= 20, f"{check}: the skip needs a one-line reason after '#'"


def test_checkov_finds_nothing():
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup` (scripts/setup.sh installs checkov)")
    done = subprocess.run([CHECKOV, "--config-file", CONFIG], capture_output=True, text=True, cwd=ROOT, timeout=600)
    out = done.stdout + done.stderr
    passed = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", out)
    assert passed, f"checkov printed no summary:\n{out[-2000:]}"
    assert int(passed.group(2)) == 0 and done.returncode == 0, out[-4000:]
    assert int(passed.group(1)) >= 20, "checkov ran suspiciously few checks"


def test_cfn_lint_informational_checks_are_clean():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run([cfn_lint, "--include-checks", "I", "--", "template.yaml"], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
