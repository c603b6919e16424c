"""The state machine honours docs/contracts.md: each error a Task's function can raise is retried as the
table says or caught, non-transient errors are never retried, and every failure reaches the dead-letter
queue and then a Fail state."""

from __future__ import annotations

import re

import pytest

from template_support import (
    ASL as ASL_PATH,
    PIPELINE_FUNCTIONS,
    contract_error_rows,
    expected_retry_fields,
    load_asl,
    load_template,
)

SQS_SEND = "arn:aws:states:::sqs:sendMessage"
ASL = load_asl()
STATES: dict = ASL["States"]
ROWS = contract_error_rows()


def lambda_tasks() -> dict[str, str]:
    """Task state name -> contracts.md function name, from the `${XFunctionArn}` substitution it uses."""
    out = {}
    subs = {f"${{{lid}Arn}}": fn for fn, lid in PIPELINE_FUNCTIONS.items()}
    for name, st in STATES.items():
        if st["Type"] == "Task" and st["Resource"] != SQS_SEND:
            assert st["Resource"] in subs, f"{name}: Resource {st['Resource']} is not a pipeline function substitution"
            out[name] = subs[st["Resource"]]
    return out


TASKS = lambda_tasks()


def successors(name: str) -> list[str]:
    st = STATES[name]
    nxt = [st["Next"]] if "Next" in st else []
    nxt += [c["Next"] for c in st.get("Choices", [])]
    nxt += [st["Default"]] if "Default" in st else []
    nxt += [c["Next"] for c in st.get("Catch", [])]
    return nxt


def reachable(start: str, blocked: frozenset[str] = frozenset()) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        s = todo.pop()
        if s in seen or s in blocked:
            continue
        seen.add(s)
        todo.extend(successors(s))
    return seen


def is_terminal(name: str) -> bool:
    st = STATES[name]
    return st["Type"] in ("Fail", "Succeed") or st.get("End") is True


def is_dead_letter(name: str) -> bool:
    return STATES[name]["Type"] == "Task" and STATES[name]["Resource"] == SQS_SEND


def assert_dead_letters_then_fails(start: str) -> set[str]:
    """Every path from start passes a sqs:sendMessage state, and every end it can reach is a Fail."""
    senders = frozenset(s for s in STATES if is_dead_letter(s))
    bypass = [s for s in reachable(start, blocked=senders) if is_terminal(s)]
    assert not bypass, f"from {start}, {bypass} can be reached without sending to the dead-letter queue"
    reach = reachable(start)
    assert senders & reach, f"no sqs:sendMessage state reachable from {start}"
    ends = {s for s in reach if is_terminal(s)}
    assert ends and all(STATES[s]["Type"] == "Fail" for s in ends), f"{start} can end in {ends}, not only Fail"
    return ends


def retriers(state: str) -> list[dict]:
    return STATES[state].get("Retry", [])


def retrier_for(state: str, error: str) -> dict | None:
    """The retrier Step Functions would pick for error (first match, States.ALL included)."""
    for r in retriers(state):
        if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]:
            return r
    return None


def catches(state: str, error: str) -> bool:
    return any(error in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"] for c in STATES[state].get("Catch", []))


# ------------------------------------------------------------------------------------------ structure


def test_contracts_table_was_read():
    names = {n for r in ROWS for n in r.names}
    assert {"Genesys.RateLimited", "Store.Unavailable", "Pipeline.InvalidInput", "Lambda.ServiceException"} <= names
    assert set(TASKS.values()) == set(PIPELINE_FUNCTIONS), TASKS


def test_flow_is_validate_check_process_save():
    assert ASL["StartAt"] == "ValidateEvent"
    assert TASKS == {"ValidateEvent": "validate", "ProcessInteraction": "process", "SaveResult": "save"}
    assert STATES["ValidateEvent"]["Next"] == "CheckValid"
    assert STATES["ValidateEvent"]["ResultPath"] == "$.validation"
    choice = STATES["CheckValid"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [{"Variable": "$.validation.isValid", "BooleanEquals": True, "Next": "ProcessInteraction"}]
    assert STATES["ProcessInteraction"]["ResultPath"] == "$.record"
    assert STATES["ProcessInteraction"]["Next"] == "SaveResult"
    assert STATES["SaveResult"]["ResultPath"] == "$.save"
    assert STATES["SaveResult"].get("End") is True


def test_every_next_points_to_an_existing_state():
    assert ASL["StartAt"] in STATES
    for name in STATES:
        for nxt in successors(name):
            assert nxt in STATES, f"{name} -> {nxt}, which does not exist"


def test_every_state_is_reachable():
    assert reachable(ASL["StartAt"]) == set(STATES)


def test_only_states_verified_in_the_local_executor():
    """docs: spec/local-stack.md lists what moto executes; stay inside it."""
    allowed_types = {"Task", "Choice", "Pass", "Fail", "Map"}
    for name, st in STATES.items():
        assert st["Type"] in allowed_types, f"{name}: {st['Type']}"
        if st["Type"] == "Task":
            assert st["Resource"].startswith("${") or st["Resource"] in (SQS_SEND, "arn:aws:states:::dynamodb:putItem"), (
                f"{name}: use the direct Lambda ARN form or a verified service integration, not {st['Resource']}"
            )


def test_result_paths_keep_the_original_input():
    for name in TASKS:
        rp = STATES[name].get("ResultPath")
        assert rp and rp.startswith("$.") and rp != "$", f"{name}: ResultPath {rp!r} would replace the input"
        assert "OutputPath" not in STATES[name] and "InputPath" not in STATES[name]


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("row", [r for r in ROWS if r.functions], ids=lambda r: r.names[0])
def test_each_contract_error_is_retried_or_caught_where_it_can_be_raised(row):
    for state, fn in TASKS.items():
        if fn not in row.functions:
            continue
        for error in row.names:
            assert retrier_for(state, error) or catches(state, error), f"{state} neither retries nor catches {error}"
            if row.retried:
                r = retrier_for(state, error)
                assert r and error in r["ErrorEquals"], f"{state} must retry {error} explicitly ({row.policy})"
                for key, want in expected_retry_fields(row.policy).items():
                    assert key in r, f"{state}/{error}: retrier lacks {key} ({row.policy})"
                    if want is not ...:
                        assert r[key] == want, f"{state}/{error}: {key} is {r[key]}, contracts say {want}"


@pytest.mark.parametrize("row", [r for r in ROWS if r.never_retried], ids=lambda r: r.names[0])
def test_permanent_errors_are_never_retried(row):
    for state in STATES:
        for r in retriers(state):
            for error in row.names:
                assert error not in r["ErrorEquals"], f"{state} retries {error}, which contracts say is not retried"
        if state in TASKS:
            assert not any("States.ALL" in r["ErrorEquals"] for r in retriers(state)), (
                f"{state}: a States.ALL retrier would retry {row.names}"
            )


@pytest.mark.parametrize("error", ["Genesys.RateLimited", "Genesys.Unavailable", "Store.Unavailable"])
def test_transient_errors_back_off_with_full_jitter_and_a_ceiling(error):
    found = False
    for state in TASKS:
        for r in retriers(state):
            if error in r["ErrorEquals"]:
                found = True
                assert r.get("BackoffRate", 1) > 1, f"{state}/{error}: no backoff"
                assert 0 < r.get("MaxDelaySeconds", 0) <= 60, f"{state}/{error}: MaxDelaySeconds missing or large"
                assert r.get("JitterStrategy") == "FULL", f"{state}/{error}: JitterStrategy FULL missing"
    assert found, f"{error} is retried nowhere"


def test_not_yet_available_waits_longer_than_transient_errors():
    slow = retrier_for("ProcessInteraction", "Genesys.NotYetAvailable")
    fast = retrier_for("ProcessInteraction", "Genesys.Unavailable")
    assert slow["IntervalSeconds"] > fast["IntervalSeconds"]


def retry_budget(r: dict) -> float:
    """Worst-case seconds a retrier waits in total (ignoring jitter, which only shortens it)."""
    total, delay = 0.0, float(r.get("IntervalSeconds", 1))
    for _ in range(r.get("MaxAttempts", 3)):
        total += min(delay, r.get("MaxDelaySeconds", float("inf")))
        delay *= r.get("BackoffRate", 2.0)
    return total


def test_retry_budgets_are_bounded():
    """The numbers docs/deploy.md gives; a change here needs the docs updated too."""
    budgets = {
        (state, tuple(r["ErrorEquals"])): retry_budget(r) for state in STATES for r in retriers(state)
    }
    for key, seconds in budgets.items():
        assert seconds <= 1000, f"{key}: {seconds} s of retry waits"
    assert retry_budget(retrier_for("ProcessInteraction", "Genesys.RateLimited")) == 255
    assert retry_budget(retrier_for("ProcessInteraction", "Genesys.Unavailable")) == 51
    assert retry_budget(retrier_for("SaveResult", "Store.Unavailable")) == 51
    assert retry_budget(retrier_for("ValidateEvent", "Lambda.ServiceException")) == 126
    assert retry_budget(retrier_for("ProcessInteraction", "Genesys.NotYetAvailable")) == 930


# ------------------------------------------------------------------------------------------ dead letter


@pytest.mark.parametrize("state", sorted(TASKS))
def test_every_task_catches_all_into_the_dead_letter_queue_then_fails(state):
    catch_all = [c for c in STATES[state].get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
    assert catch_all, f"{state} has no States.ALL catch"
    assert catch_all[-1] is STATES[state]["Catch"][-1], "States.ALL must be the last catcher"
    assert catch_all[0]["ResultPath"] == "$.error"
    assert_dead_letters_then_fails(catch_all[0]["Next"])


def test_invalid_events_are_dead_lettered_then_fail_as_event_invalid():
    start = STATES["CheckValid"]["Default"]
    ends = assert_dead_letters_then_fails(start)
    assert any(STATES[s].get("Error") == "Event.Invalid" for s in ends)
    first = STATES[start]
    # the record of why: error Event.Invalid, the validator's reason, stage validate
    assert first["Type"] == "Pass"
    assert first["Parameters"] == {"stage": "validate", "error": "Event.Invalid", "cause.$": "$.validation.reason"}


def test_dead_letter_message_has_the_contract_shape():
    senders = [s for s in STATES if is_dead_letter(s)]
    assert senders
    for name in senders:
        params = STATES[name]["Parameters"]
        assert params["QueueUrl"] == "${DeadLetterQueueUrl}"
        body = params["MessageBody"]
        keys = {k.removesuffix(".$") for k in body}
        assert keys == {"eventId", "conversationId", "eventType", "error", "cause", "stage", "executionId", "input"}, keys
        assert STATES[name].get("Retry"), f"{name}: sending to the dead-letter queue must itself retry"
        assert STATES[name].get("ResultPath") not in (None, "$"), f"{name}: keep the input for the Fail routing"


def test_failure_records_take_error_and_cause_from_the_catch_result():
    for state in TASKS:
        target = next(c["Next"] for c in STATES[state]["Catch"] if "States.ALL" in c["ErrorEquals"])
        params = STATES[target]["Parameters"]
        assert params["error.$"] == "$.error.Error"
        assert params["cause.$"] == "$.error.Cause"
        assert params["stage"] == TASKS[state]


def test_substitutions_match_the_template_both_ways():
    text = ASL_PATH.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    sm = load_template()["Resources"]["PipelineStateMachine"]["Properties"]
    given = set(sm["DefinitionSubstitutions"])
    assert used == given, f"ASL uses {sorted(used)}, template gives {sorted(given)}"
