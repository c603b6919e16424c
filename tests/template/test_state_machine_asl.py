"""The state machine honours docs/contracts.md, statically: ValidateBatch -> ProcessBatch -> SaveBatch, each Task
handed the whole state and the execution id; the transient names a Task raises are retried as the contracts say,
the permanent ones never; anything else is caught into a Failed state that keeps the execution input, and every
event of that input reaches the dead-letter queue (one message each, the catalogue's fields) before a Fail state.

Error names come from docs/catalogue.json; the retry numbers from the contracts' table."""

from __future__ import annotations

import re

import pytest

from template_support import (
    ASL as ASL_PATH,
    PERMANENT,
    SQS_SEND,
    TASK_STAGES,
    all_catalogue_names,
    all_states,
    aws_task_errors,
    catalogue,
    load_asl,
    load_template,
    reachable,
    retry_budget,
    state_machines,
    successors,
    task_errors,
)

ASL = load_asl()
STATES: dict = ASL["States"]
EVERY_STATE = all_states(ASL)
TEMPLATE = load_template()
SUBSTITUTIONS: dict = TEMPLATE["Resources"]["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
DEAD_LETTER_FIELDS = set(catalogue()["deadLetterFields"])
IDENTITY_FIELDS = ("eventId", "conversationId", "eventType", "correlationId")
# docs/contracts.md, The Tasks: what each Task is handed, and where its answer goes.
TASK_WIRING = {
    "ValidateBatch": ({"batch.$": "$", "executionId.$": "$$.Execution.Id"}, "$.events"),
    "ProcessBatch": ({"batch.$": "$.events", "executionId.$": "$$.Execution.Id"}, "$.events"),
    "SaveBatch": ({"batch.$": "$.events", "executionId.$": "$$.Execution.Id"}, None),
}
# The most seconds one retrier may wait in all (a Task's retries must fit well inside an execution).
RETRY_CAP_SECONDS = 300


def lambda_tasks() -> dict[str, str]:
    """Task state name -> stage (the binary of the function its `${...}` substitution names in template.yaml)."""
    out = {}
    for name, st in EVERY_STATE.items():
        if st["Type"] != "Task" or st["Resource"] == SQS_SEND:
            continue
        m = re.fullmatch(r"\$\{(\w+)\}", st["Resource"])
        assert m and m.group(1) in SUBSTITUTIONS, f"{name}: Resource {st['Resource']} is no template substitution"
        function = SUBSTITUTIONS[m.group(1)]["Fn::GetAtt"][0]
        out[name] = TEMPLATE["Resources"][function]["Metadata"]["BuildProperties"]["Binary"]
    return out


TASKS = lambda_tasks()


def retriers(state: str) -> list[dict]:
    return EVERY_STATE[state].get("Retry", [])


def retrier_for(state: str, error: str) -> dict | None:
    """The retrier Step Functions picks for `error` (the first that matches; States.ALL matches everything,
    States.TaskFailed every error but States.Timeout)."""
    for r in retriers(state):
        names = r["ErrorEquals"]
        if error in names or "States.ALL" in names or ("States.TaskFailed" in names and error != "States.Timeout"):
            return r
    return None


def catcher_for(state: str, error: str) -> dict | None:
    for c in EVERY_STATE[state].get("Catch", []):
        if error in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"]:
            return c
    return None


def senders() -> dict[str, dict]:
    return {name: st for name, st in EVERY_STATE.items() if st["Type"] == "Task" and st["Resource"] == SQS_SEND}


def transient(stage: str) -> list[str]:
    return [n for n in task_errors(stage) if n not in PERMANENT]


# ------------------------------------------------------------------------------------------ structure


def test_the_names_come_from_the_catalogue_and_the_contracts():
    names = all_catalogue_names()
    assert PERMANENT <= names, f"permanent names missing from docs/catalogue.json: {PERMANENT - names}"
    for stage in TASK_STAGES:
        assert stage in catalogue()["errors"], f"docs/catalogue.json has no errors of {stage}"
    assert transient("save"), "save raises no transient name: the catalogue was not read"
    assert {"Sandbox.Timedout", "Lambda.ServiceException"} <= set(aws_task_errors())


def test_flow_is_validate_process_save():
    assert ASL["StartAt"] == "ValidateBatch"
    assert TASKS == {"ValidateBatch": "validate", "ProcessBatch": "process", "SaveBatch": "save"}
    assert STATES["ValidateBatch"]["Next"] == "ProcessBatch"
    assert STATES["ProcessBatch"]["Next"] == "SaveBatch"
    assert STATES["SaveBatch"].get("End") is True and "Next" not in STATES["SaveBatch"]


@pytest.mark.parametrize("state", sorted(TASKS))
def test_every_task_gets_the_previous_answer_and_puts_its_own_where_no_answer_breaks_a_path(state):
    """A path into a Task's answer (ResultSelector, OutputPath, or "$" on a state that is the answer) fails with
    States.Runtime when the answer is null, and nothing catches that: each answer goes to $.events instead."""
    st = STATES[state]
    parameters, result_path = TASK_WIRING[state]
    assert st["Parameters"] == parameters
    assert st.get("ResultPath") == result_path
    for field in ("InputPath", "OutputPath", "ResultSelector"):
        assert field not in st, f"{state}: {field} would evaluate a path into the answer"


def test_every_next_points_to_an_existing_state():
    for path, machine in state_machines(ASL):
        assert machine["StartAt"] in machine["States"], path
        for name, st in machine["States"].items():
            for nxt in successors(st):
                assert nxt in machine["States"], f"{path}: {name} -> {nxt}, which does not exist there"
            assert ("Next" in st) + bool(st.get("End")) <= 1, f"{name}: both Next and End"
            if st["Type"] not in ("Choice", "Fail", "Succeed"):
                assert "Next" in st or st.get("End") is True, f"{name}: neither Next nor End"


def test_every_state_is_reachable():
    for path, machine in state_machines(ASL):
        assert reachable(machine) == set(machine["States"]), f"{path}: unreachable {set(machine['States']) - reachable(machine)}"


# What moto's executor (the local stack, test_state_machine_moto.py) is known to run: adding a type, a field, an
# intrinsic or a Choice operator means checking it there first.
VERIFIED_FIELDS = {
    "Task": {"Type", "Comment", "Resource", "Parameters", "Retry", "Catch", "Next", "End", "ResultPath"},
    "Pass": {"Type", "Comment", "Parameters", "Next"},
    "Choice": {"Type", "Comment", "Choices", "Default"},
    "Map": {"Type", "Comment", "ItemsPath", "MaxConcurrency", "ItemSelector", "ItemProcessor", "ResultPath", "Catch",
            "Next"},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}
VERIFIED_RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
                           "JitterStrategy"}
VERIFIED_CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath"}
VERIFIED_INTRINSICS = {"States.Array", "States.Hash", "States.Format", "States.JsonMerge"}
VERIFIED_CHOICE_RULE_FIELDS = {"Variable", "IsPresent", "And", "Or", "Next"}


def test_only_state_types_and_features_verified_in_the_local_executor():
    for name, st in EVERY_STATE.items():
        assert st["Type"] in VERIFIED_FIELDS, f"{name}: {st['Type']}"
        assert set(st) <= VERIFIED_FIELDS[st["Type"]], f"{name}: unverified fields {set(st) - VERIFIED_FIELDS[st['Type']]}"
        if st["Type"] == "Task":
            assert re.fullmatch(r"\$\{\w+FunctionArn\}", st["Resource"]) or st["Resource"] == SQS_SEND, (
                f"{name}: use the direct Lambda ARN form or sqs:sendMessage, not {st['Resource']}")
        if st["Type"] == "Map":
            assert st["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}, name
        for r in st.get("Retry", []):
            assert set(r) <= VERIFIED_RETRIER_FIELDS, f"{name}: {set(r) - VERIFIED_RETRIER_FIELDS}"
        for c in st.get("Catch", []):
            assert set(c) <= VERIFIED_CATCHER_FIELDS, f"{name}: {set(c) - VERIFIED_CATCHER_FIELDS}"
        for rule in st.get("Choices", []):
            stack = [rule]
            while stack:
                r = stack.pop()
                assert set(r) <= VERIFIED_CHOICE_RULE_FIELDS, f"{name}: {set(r) - VERIFIED_CHOICE_RULE_FIELDS}"
                stack.extend(r.get("And", []) + r.get("Or", []))
    intrinsics = set(re.findall(r"(States\.[A-Za-z]+)\(", ASL_PATH.read_text(encoding="utf-8")))
    assert intrinsics <= VERIFIED_INTRINSICS, intrinsics - VERIFIED_INTRINSICS
    assert ASL.get("QueryLanguage", "JSONPath") == "JSONPath"


def test_substitutions_match_the_template_both_ways():
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", ASL_PATH.read_text(encoding="utf-8")))
    assert used == set(SUBSTITUTIONS), f"ASL uses {sorted(used)}, template gives {sorted(SUBSTITUTIONS)}"


# ------------------------------------------------------------------------------------------ retries


@pytest.mark.parametrize("state", sorted(TASKS))
def test_no_task_retries_everything(state):
    for r in retriers(state):
        assert not {"States.ALL", "States.TaskFailed"} & set(r["ErrorEquals"]), (
            f"{state}: {r['ErrorEquals']} would retry the permanent names too")


@pytest.mark.parametrize("state", sorted(TASKS))
def test_permanent_names_are_never_retried(state):
    for name in sorted(PERMANENT):
        assert retrier_for(state, name) is None, f"{state} retries {name}, which a retry cannot fix"
        assert catcher_for(state, name), f"{state} does not catch {name}"


@pytest.mark.parametrize("state", sorted(TASKS))
def test_init_failures_are_not_retried(state):
    """Config.Invalid (a bad environment) fails every try alike: straight to the dead letters."""
    for name in catalogue()["errors"]["init"]:
        assert retrier_for(state, name) is None, f"{state} retries {name}"


@pytest.mark.parametrize("state,name", [(s, n) for s, stage in sorted(TASKS.items()) for n in aws_task_errors()])
def test_aws_errors_are_retried_by_every_task(state, name):
    r = retrier_for(state, name)
    assert r and name in r["ErrorEquals"], f"{state} does not retry {name} explicitly"


@pytest.mark.parametrize("state,name", [(s, n) for s, stage in sorted(TASKS.items()) for n in transient(stage)])
def test_transient_names_are_retried_with_a_ceiling_and_full_jitter(state, name):
    r = retrier_for(state, name)
    assert r and name in r["ErrorEquals"], f"{state} does not retry {name}, which the catalogue lists for it"
    assert r.get("BackoffRate", 1) > 1, f"{state}/{name}: no backoff"
    assert 0 < r.get("MaxDelaySeconds", 0) <= 60, f"{state}/{name}: MaxDelaySeconds missing or over a minute"
    assert r.get("JitterStrategy") == "FULL", f"{state}/{name}: JitterStrategy FULL missing"


def test_each_task_retries_exactly_its_transient_names_and_the_aws_ones():
    """No retrier for a name nothing raises (a typo would retry nothing and look fine)."""
    for state, stage in TASKS.items():
        retried = {n for r in retriers(state) for n in r["ErrorEquals"]}
        assert retried == set(aws_task_errors()) | set(transient(stage)), state


def test_every_retry_budget_is_bounded():
    for name, st in EVERY_STATE.items():
        for r in st.get("Retry", []):
            assert "MaxAttempts" in r and 1 <= r["MaxAttempts"] <= 10, f"{name}/{r['ErrorEquals']}: MaxAttempts"
            assert "IntervalSeconds" in r and r["IntervalSeconds"] >= 1, f"{name}/{r['ErrorEquals']}: IntervalSeconds"
            assert retry_budget(r) <= RETRY_CAP_SECONDS, f"{name}/{r['ErrorEquals']}: {retry_budget(r)} s"
    # The docs' figures (docs/contracts.md, docs/deploy.md section 6) are generated from these retriers by
    # `make generate` (crates/generate/src/state_machine.rs); `gcx-generate --check` keeps them current.
    for name in senders():
        assert retry_budget(retriers(name)[0]) <= 30, name


# ------------------------------------------------------------------------------------------ failures


@pytest.mark.parametrize("state", sorted(TASKS))
def test_every_task_catches_everything_into_its_failed_state(state):
    (catch,) = STATES[state]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch.get("ResultPath", "$") == "$", "the Failed state reads $.Error and $.Cause"
    failed = STATES[catch["Next"]]
    assert catch["Next"] == f"{TASKS[state].capitalize()}Failed"
    assert failed["Type"] == "Pass"
    assert failed["Parameters"] == {
        "stage": TASKS[state], "error.$": "$.Error", "cause.$": "$.Cause", "input.$": "$$.Execution.Input",
    }
    assert failed["Next"] == "HasEvents"


def test_has_events_splits_batches_from_whole_inputs():
    st = STATES["HasEvents"]
    assert st["Type"] == "Choice"
    assert st["Choices"] == [{"Variable": "$.input.events[0]", "IsPresent": True, "Next": "DeadLetterEachEvent"}]
    assert st["Default"] == "DeadLetterWholeInput"


def test_each_event_is_dead_lettered_by_a_map_over_the_execution_input():
    st = STATES["DeadLetterEachEvent"]
    assert st["Type"] == "Map"
    assert st["ItemsPath"] == "$.input.events"
    assert st["ItemSelector"] == {"event.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index",
                                  "stage.$": "$.stage", "error.$": "$.error", "cause.$": "$.cause",
                                  "blank": {"eventId": "", "conversationId": "", "eventType": "",
                                            "correlationId": None}}
    assert st["ResultPath"] is None, "the Fail state after it keeps the failure record"
    assert 1 <= st["MaxConcurrency"] <= 40
    processor = st["ItemProcessor"]
    assert processor["StartAt"] == "HasIdentity"
    assert set(processor["States"]) == {"HasIdentity", "SendDeadLetter", "IdentifyElement", "SendPartialDeadLetter",
                                        "SendUnidentifiedDeadLetter"}


def test_identity_fields_are_read_only_when_present():
    """A path to a missing field is a States.Runtime error no Catch sees: every $.event.x SendDeadLetter reads is
    checked first; an element with some of them is merged over blanks first, so each $.ids.x exists."""
    choice = EVERY_STATE["HasIdentity"]
    every, some = choice["Choices"]
    checked = {c["Variable"] for c in every["And"] if c.get("IsPresent") is True}
    assert every["Next"] == "SendDeadLetter" and choice["Default"] == "SendUnidentifiedDeadLetter"
    read = {v for k, v in EVERY_STATE["SendDeadLetter"]["Parameters"]["MessageBody"].items()
            if k.endswith(".$") and v.startswith("$.event.")}
    assert read == {f"$.event.{f}" for f in IDENTITY_FIELDS}
    assert read <= checked, f"read without a presence check: {read - checked}"
    assert {c["Variable"] for c in some["Or"] if c.get("IsPresent") is True} == checked
    assert some["Next"] == "IdentifyElement"
    merge = EVERY_STATE["IdentifyElement"]["Parameters"]["ids.$"]
    assert merge == "States.JsonMerge($.blank, $.event, false)"
    assert EVERY_STATE["IdentifyElement"]["Next"] == "SendPartialDeadLetter"


def test_every_dead_letter_the_state_machine_sends_has_its_deterministic_id():
    """docs/contracts.md, Dead letter: SHA-256 of <execution>|<stage>|#<index> (or #input)."""
    each = "States.Hash(States.Format('{}|{}|#{}', $$.Execution.Id, $.stage, $.index), 'SHA-256')"
    for name in ("SendDeadLetter", "SendPartialDeadLetter", "SendUnidentifiedDeadLetter"):
        assert EVERY_STATE[name]["Parameters"]["MessageBody"]["deadLetterId.$"] == each, name
    whole = "States.Hash(States.Format('{}|{}|#input', $$.Execution.Id, $.stage), 'SHA-256')"
    assert STATES["DeadLetterWholeInput"]["Parameters"]["MessageBody"]["deadLetterId.$"] == whole


@pytest.mark.parametrize("name", ["SendDeadLetter", "SendPartialDeadLetter", "SendUnidentifiedDeadLetter",
                                  "DeadLetterWholeInput"])
def test_dead_letter_message_has_exactly_the_catalogue_fields(name):
    params = EVERY_STATE[name]["Parameters"]
    assert params["QueueUrl"] == "${DeadLetterQueueUrl}"
    body = params["MessageBody"]
    assert {k.removesuffix(".$") for k in body} == DEAD_LETTER_FIELDS
    assert body["error.$"] == "$.error" and body["cause.$"] == "$.cause" and body["stage.$"] == "$.stage"
    assert body["executionId.$"] == "$$.Execution.Id"
    assert params["MessageAttributes"] == {"ERROR_CODE": {"DataType": "String", "StringValue.$": "$.error"}}
    if name == "SendDeadLetter":
        assert {f: body[f + ".$"] for f in IDENTITY_FIELDS} == {f: f"$.event.{f}" for f in IDENTITY_FIELDS}
    elif name == "SendPartialDeadLetter":
        assert {f: body[f + ".$"] for f in IDENTITY_FIELDS} == {f: f"$.ids.{f}" for f in IDENTITY_FIELDS}
    else:
        assert {f: body[f] for f in IDENTITY_FIELDS} == {
            "eventId": "", "conversationId": "", "eventType": "", "correlationId": None}
    if name == "DeadLetterWholeInput":
        assert body["input.$"] == "$.input", "a whole input is carried as it came"
    else:
        assert body["input"] == {"events.$": "States.Array($.event)"}, "input: {events: [the element]}"


@pytest.mark.parametrize("name", sorted(senders()))
def test_every_send_retries_keeps_its_input_and_ends_in_a_fail(name):
    st = EVERY_STATE[name]
    (r,) = st["Retry"]
    assert r["ErrorEquals"] == ["States.ALL"] and r.get("JitterStrategy") == "FULL" and r["BackoffRate"] > 1
    assert st["ResultPath"] is None
    if name in STATES:  # top level: its own Catch; in the Map: the Map's
        catch = st["Catch"]
        assert st["Next"] == "BatchDeadLettered"
    else:
        assert st.get("End") is True and "Catch" not in st
        catch = STATES["DeadLetterEachEvent"]["Catch"]
        assert STATES["DeadLetterEachEvent"]["Next"] == "BatchDeadLettered"
    assert catch == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.deadLetterError", "Next": "DeadLetterUnavailable"}]


def test_fail_states_are_the_catalogue_state_machine_names():
    fails = {name: st for name, st in EVERY_STATE.items() if st["Type"] == "Fail"}
    assert {st["Error"] for st in fails.values()} == set(catalogue()["errors"]["stateMachine"])
    assert fails["BatchDeadLettered"]["Error"] == "Pipeline.DeadLettered"
    assert fails["DeadLetterUnavailable"]["Error"] == "Pipeline.DeadLetterUnavailable"
    assert not [n for n, st in EVERY_STATE.items() if st["Type"] == "Succeed"]


def test_every_failure_path_dead_letters_before_it_fails():
    """From each Failed state, every way to a Fail passes a send, and no way leads to success."""
    sending = {n for n in STATES if n in senders() or STATES[n]["Type"] == "Map"}
    for failed in (f"{stage.capitalize()}Failed" for stage in TASK_STAGES):
        reach = reachable(ASL, failed)
        ends = {s for s in reach if STATES[s]["Type"] == "Fail" or STATES[s].get("End")}
        assert ends == {"BatchDeadLettered", "DeadLetterUnavailable"}, (failed, ends)
        # BatchDeadLettered only after a send: remove the senders and it is unreachable.
        todo, seen = [failed], set()
        while todo:
            s = todo.pop()
            if s in seen or s in sending:
                continue
            seen.add(s)
            todo.extend(successors(STATES[s]))
        assert "BatchDeadLettered" not in seen and "DeadLetterUnavailable" not in seen, failed
