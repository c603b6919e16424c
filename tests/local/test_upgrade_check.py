"""make upgrade-check (local/upgrade_check.py) as a user runs it, in a scratch git repository holding the project's
template and CHANGELOG: each upgrade that would lose data fails naming the resource; a harmless one passes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A git repository with template.yaml, CHANGELOG.md and the checker, committed."""
    (tmp_path / "local").mkdir()
    for name in ("template.yaml", "CHANGELOG.md", "local/upgrade_check.py", "local/cfn.py", "local/changelog.py"):
        shutil.copy(REPO / name, tmp_path / name)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "release"], check=True)
    return tmp_path


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, root / "local" / "upgrade_check.py", "--from", "HEAD"],
                          capture_output=True, text=True, check=False)


def edit(root: Path, old: str, new: str) -> None:
    path = root / "template.yaml"
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new))


def test_an_unchanged_template_passes(scratch: Path) -> None:
    done = check(scratch)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stateful resources is kept" in done.stdout


def test_a_new_parameter_with_a_default_passes(scratch: Path) -> None:
    edit(scratch, "\nParameters:\n", "\nParameters:\n  SomethingNew:\n    Type: String\n    Default: 'x'\n")
    done = check(scratch)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_changed_table_key_schema_fails_naming_the_table(scratch: Path) -> None:
    edit(scratch, "        - AttributeName: conversationId\n          KeyType: HASH\n",
         "        - AttributeName: conversationId\n          KeyType: HASH\n        - AttributeName: lastEventTime\n"
         "          KeyType: RANGE\n")
    done = check(scratch)
    assert done.returncode == 1
    assert "ConversationsTable (AWS::DynamoDB::Table): KeySchema changes" in done.stdout, done.stdout


def test_a_create_only_property_on_a_queue_fails_naming_the_queue(scratch: Path) -> None:
    edit(scratch, "  DeadLetterQueue:\n    Type: AWS::SQS::Queue\n    DeletionPolicy: !Ref DataRetention\n"
         "    UpdateReplacePolicy: !Ref DataRetention\n    Properties:\n",
         "  DeadLetterQueue:\n    Type: AWS::SQS::Queue\n    DeletionPolicy: !Ref DataRetention\n"
         "    UpdateReplacePolicy: !Ref DataRetention\n    Properties:\n      FifoQueue: true\n")
    done = check(scratch)
    assert done.returncode == 1
    assert "DeadLetterQueue (AWS::SQS::Queue): FifoQueue changes" in done.stdout, done.stdout


def test_a_renamed_queue_fails_naming_both_ids(scratch: Path) -> None:
    text = (scratch / "template.yaml").read_text()
    (scratch / "template.yaml").write_text(re.sub(r"\bDeadLetterQueue\b", "PipelineDeadLetterQueue", text))
    done = check(scratch)
    assert done.returncode == 1
    assert "DeadLetterQueue (AWS::SQS::Queue): removed from the template (renamed to" in done.stdout, done.stdout
    assert "PipelineDeadLetterQueue" in done.stdout


def test_a_removed_parameter_needs_a_breaking_entry(scratch: Path) -> None:
    edit(scratch, "  StoreRawDetails:\n", "  StoreRawDetailz:\n")
    done = check(scratch)
    assert done.returncode == 1 and "parameter StoreRawDetails: removed or renamed" in done.stdout, done.stdout
    changelog = scratch / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace(
        "### Breaking\n", "### Breaking\n- `StoreRawDetails` is now `StoreRawDetailz`.\n", 1))
    done = check(scratch)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_last_release_is_the_changelog_s(scratch: Path) -> None:
    done = subprocess.run([sys.executable, scratch / "local" / "upgrade_check.py"], capture_output=True, text=True,
                          check=False)
    # The scratch repository holds one commit, so the release commit the CHANGELOG names is unknown there.
    assert done.returncode == 2 and "no template.yaml at" in done.stderr, done.stdout + done.stderr


def test_a_retain_policy_given_by_a_parameter_default_counts_and_a_delete_default_does_not(scratch: Path) -> None:
    """0.1 set `DeletionPolicy: Retain` literally; later ones `!Ref DataRetention` (default Retain): an upgrade keeps
    the table retained unless the default stops being Retain."""
    edit(scratch, "    Default: Retain\n    AllowedValues: [Retain, Delete]",
         "    Default: Delete\n    AllowedValues: [Retain, Delete]")
    run = check(scratch)
    assert run.returncode != 0 and "ConversationsTable (AWS::DynamoDB::Table): loses its Retain policy" in run.stdout + run.stderr
