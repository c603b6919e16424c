"""template.yaml: the validators pass, it wires what docs/contracts.md says, and it stays least-privilege.

Tools (pinned in requirements.txt and package.json) are required, never skipped: cfn-lint, `sam validate`
(plain and --lint, offline with AWS_DEFAULT_REGION set) and asl-validator. The template is read with
local/cfn.py, the loader the local stack uses."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from template_support import (
    CONTRACTS,
    ASL,
    BINARIES,
    GENESYS_ACCOUNT_ROOT,
    INSTALL_HINT,
    LOGS_DELIVERY_ACTIONS,
    ROOT,
    SQS_SEND,
    TEMPLATE,
    as_list,
    catalogue,
    cfn_template,
    contract_env_vars,
    grants,
    iam_statements,
    load_asl,
    load_template,
    refs_in,
    resolver,
    translate,
)

T = load_template()
RES: dict = T["Resources"]
PARAMS: dict = T["Parameters"]
CFN = translate(T)
CT = cfn_template()
FUNCTIONS = {lid: res["Metadata"]["BuildProperties"]["Binary"] for lid, res in RES.items()
             if res["Type"] == "AWS::Serverless::Function"}
LOGICAL_ID = {binary: lid for lid, binary in FUNCTIONS.items()}
SQS_POLL = frozenset({"sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
                      "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"})
SQS_SEND_ACTION = "sqs:SendMessage"  # exactly: SendMessageBatch needs the same permission
GENESYS_SECRET = frozenset({"GenesysCredentialsSecretArn", "GenesysCredentialsSecret"})
CUSTOMER_KEY = ("secretsmanager:GetSecretValue", frozenset({"CustomerKeySecret"}))
CUSTOMER_INDEX = "CustomerRecency"


def tool(name: str) -> str:
    """Path of a CLI from the project venv (next to this interpreter), node_modules, or PATH."""
    for candidate in (Path(sys.executable).parent / name, ROOT / "node_modules" / ".bin" / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: {INSTALL_HINT}")
    return found


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "SAM_CLI_TELEMETRY": "0", **env}
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)


def env_vars(logical_id: str) -> dict:
    return CT.function_environment(logical_id)


def timeout(logical_id: str) -> int:
    return int(CT.function_property(logical_id, "Timeout", 3))


def no_echo_params() -> set[str]:
    return {name for name, p in PARAMS.items() if str(p.get("NoEcho", "false")).lower() == "true"}


def accepts(parameter: str, value) -> bool:
    """Whether CloudFormation takes `value` for `parameter` (MinValue/MaxValue, AllowedValues, AllowedPattern)."""
    spec = PARAMS[parameter]
    text = str(value)
    if spec["Type"] == "Number":
        number = float(text)
        if number < float(spec.get("MinValue", "-inf")) or number > float(spec.get("MaxValue", "inf")):
            return False
    if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
        return False
    return "AllowedPattern" not in spec or re.fullmatch(spec["AllowedPattern"], text) is not None


def poll(queue: str) -> set:
    return {(a, frozenset({queue})) for a in SQS_POLL}


def send(queue: str) -> tuple[str, frozenset]:
    return SQS_SEND_ACTION, frozenset({queue})


# ------------------------------------------------------------------------------------------ tools


def test_cfn_lint_is_clean():
    r = run([tool("cfn-lint"), str(TEMPLATE)])
    assert r.returncode == 0, f"cfn-lint:\n{r.stdout}{r.stderr}"


@pytest.mark.parametrize("extra", [[], ["--lint"]], ids=["translate", "lint"])
def test_sam_validate(extra):
    r = run([tool("sam"), "validate", "--template-file", str(TEMPLATE), *extra], AWS_DEFAULT_REGION="us-east-1")
    assert r.returncode == 0, f"sam validate {' '.join(extra)}:\n{r.stdout}{r.stderr}"
    assert "is a valid SAM Template" in r.stdout + r.stderr


def test_asl_validator_accepts_the_definition():
    r = run([tool("asl-validator"), "--json-path", str(ASL)])
    assert r.returncode == 0, f"asl-validator:\n{r.stdout}{r.stderr}"


def test_asl_validator_accepts_the_definition_with_substitutions_resolved(tmp_path):
    """With real-looking values in place of every ${...} the template gives, the Resource ARN checks run too."""
    subs = RES["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    text = ASL.read_text(encoding="utf-8")
    for key, value in subs.items():
        (target,) = refs_in(value)
        if "Fn::GetAtt" in value:
            real = f"arn:aws:lambda:us-east-1:123456789012:function:stack-{target}-abc"
        else:
            real = f"https://sqs.us-east-1.amazonaws.com/123456789012/stack-{target}-abc"
        text = text.replace("${" + key + "}", real)
    assert "${" not in text
    resolved = tmp_path / "resolved.asl.json"
    resolved.write_text(text, encoding="utf-8")
    r = run([tool("asl-validator"), "--json-path", str(resolved)])
    assert r.returncode == 0, f"asl-validator:\n{r.stdout}{r.stderr}"


@pytest.mark.parametrize("where", ["top", "nested"])
def test_asl_validator_rejects_a_dangling_next(tmp_path, where):
    """The validator is really checking, also inside the Map (moto accepts a dangling Next)."""
    asl = load_asl()
    if where == "top":
        asl["States"]["ValidateBatch"]["Next"] = "NoSuchState"
    else:
        asl["States"]["DeadLetterEachEvent"]["ItemProcessor"]["States"]["HasIdentity"]["Default"] = "NoSuchState"
    bad = tmp_path / "bad.asl.json"
    bad.write_text(json.dumps(asl), encoding="utf-8")
    r = run([tool("asl-validator"), "--json-path", str(bad)])
    assert r.returncode != 0


def test_every_parameter_is_in_exactly_one_console_group():
    groups = T["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    listed = [p for g in groups for p in g["Parameters"]]
    assert sorted(listed) == sorted(PARAMS), f"missing {set(PARAMS) - set(listed)}, extra {set(listed) - set(PARAMS)}"


# ------------------------------------------------------------------------------------------ functions


def test_the_six_functions():
    assert sorted(FUNCTIONS.values()) == sorted(BINARIES)


@pytest.mark.parametrize("binary", BINARIES)
def test_function_is_built_from_its_workspace_binary(binary):
    res = RES[LOGICAL_ID[binary]]
    assert res["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert res["Properties"]["CodeUri"] == "."
    bins = set()
    for manifest in (ROOT / "crates").glob("*/Cargo.toml"):
        bins.update(b["name"] for b in tomllib.loads(manifest.read_text()).get("bin", []))
    assert binary in bins, f"no [[bin]] named {binary} in crates/*/Cargo.toml"


@pytest.mark.parametrize("binary", BINARIES)
def test_function_logs_to_its_own_log_group(binary):
    lid = LOGICAL_ID[binary]
    group = RES[lid]["Properties"]["LoggingConfig"]["LogGroup"]
    (name,) = refs_in(group)
    props = RES[name]["Properties"]
    assert RES[name]["Type"] == "AWS::Logs::LogGroup"
    assert props["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{binary}"}
    assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_globals_runtime_and_logging():
    g = T["Globals"]["Function"]
    assert g["Runtime"] == "provided.al2023"
    assert g["Architectures"] == ["arm64"]
    assert g["Handler"] == "bootstrap"
    assert g["Tracing"] == {"Fn::If": ["XRayOn", "Active", "PassThrough"]}, "X-Ray only when asked (XRayTracing)"
    assert PARAMS["XRayTracing"]["Default"] == "false"
    assert g["LoggingConfig"]["LogFormat"] == "JSON"
    assert 128 <= g["MemorySize"] <= 1024
    # Each function gets only the variables its contract names; the one shared is the metrics namespace.
    assert g["Environment"]["Variables"] == {"METRICS_NAMESPACE": {"Fn::Sub": "GenesysCx/${AWS::StackName}"}}


def test_contracts_env_sections_were_read():
    documented = contract_env_vars()
    assert set(BINARIES) <= set(documented), f"docs/contracts.md documents no Env for {set(BINARIES) - set(documented)}"
    assert documented["validate"] == set()
    assert {"STATE_MACHINE_ARN", "DEAD_LETTER_QUEUE_URL", "ENRICH_MAX_CONCURRENCY", "ENRICH_TOPICS"} <= set().union(
        *documented.values())


@pytest.mark.parametrize("binary", BINARIES)
def test_environment_uses_only_names_from_contracts(binary):
    documented = contract_env_vars()[binary]
    used = set(env_vars(LOGICAL_ID[binary]))
    # The one variable every function shares is documented once, with the invocation line it turns into metrics.
    shared = {"METRICS_NAMESPACE"}
    assert "`METRICS_NAMESPACE`" in CONTRACTS.read_text(encoding="utf-8").split("## Every function's log line")[1]
    used -= shared
    assert used <= documented, f"{binary} gets {sorted(used - documented)}, not in docs/contracts.md for {binary}"


# Variable -> what it must reference, for the variables a function cannot start without (docs/contracts.md).
REQUIRED_ENV = {
    "data-action": {"EXTERNAL_API_TIMEOUT": "ExternalApiTimeout",
                    "CACHE_ACTIONS": "DataActionCacheActions", "CACHE_TTL": "DataActionCacheTtl"},
    "fanout": {"STATE_MACHINE_ARN": "PipelineStateMachine", "EVENT_DEAD_LETTER_QUEUE_URL": "EventDeadLetterQueue",
               "BATCH_MAX_EVENTS": "BatchMaxEvents", "FANOUT_CONCURRENCY": "FanoutConcurrency"},
    "validate": {},
    "process": {"ENRICH_TOPICS": "EnrichTopics", "CUSTOMER_KEY_SECRET_ARN": "CustomerKeySecret"},
    "save": {"DYNAMODB_TABLE_NAME": "ConversationsTable", "ENRICHMENT_QUEUE_URL": "EnrichmentQueue",
             "DEAD_LETTER_QUEUE_URL": "DeadLetterQueue", "ENRICH_DELAY_SECONDS": "EnrichDelaySeconds"},
    "enrich": {"DYNAMODB_TABLE_NAME": "ConversationsTable", "ENRICHMENT_QUEUE_URL": "EnrichmentQueue",
               "ENRICHMENT_DEAD_LETTER_QUEUE_URL": "EnrichmentDeadLetterQueue", "GENESYS_ENV": "GenesysEnvironment",
               "GENESYS_TIMEOUT": "GenesysTimeout", "GENESYS_REQUESTS_PER_MINUTE": "GenesysRequestsPerMinute",
               "GENESYS_MULTIGET_MAX": "GenesysMultigetMax", "ENRICH_MAX_CONCURRENCY": "EnrichMaxConcurrency",
               "STORE_RAW_DETAILS": "StoreRawDetails"},
}


@pytest.mark.parametrize("binary", BINARIES)
def test_required_environment(binary):
    env = env_vars(LOGICAL_ID[binary])
    for var, target in REQUIRED_ENV[binary].items():
        assert var in env, f"{binary} lacks {var}"
        assert env[var] == {"Ref": target}, f"{binary}: {var} is {env[var]}, not !Ref {target}"
    if binary in ("save", "enrich"):
        assert env["RECORD_TTL_DAYS"] == {"Fn::If": ["HasRecordTtl", {"Ref": "RecordTtlDays"}, {"Ref": "AWS::NoValue"}]}


def test_fanout_async_retries_then_dead_letters():
    cfg = RES["FanoutFunction"]["Properties"]["EventInvokeConfig"]
    assert cfg["MaximumRetryAttempts"] == 2
    assert cfg["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert refs_in(cfg["DestinationConfig"]["OnFailure"]) == {"FanoutDeadLetterQueue"}


# ------------------------------------------------------------------------------------------ delivery


def existing(mode: str) -> set[str]:
    r = resolver(CT, BufferMode=mode)
    return {lid for lid, res in RES.items() if CT.exists(res, r)}


@pytest.mark.parametrize("mode,target,absent", [
    ("sqs", "FanoutBufferQueue", {"FanoutInvokePermission"}),
    ("direct", "FanoutFunction", {"FanoutBufferQueue", "FanoutBufferQueuePolicy", "FanoutBufferEventSource"}),
])
def test_event_rule_targets_follow_the_buffer_mode(mode, target, absent):
    r = resolver(CT, BufferMode=mode)
    (resolved,) = r.resolve(RES["GenesysEventRule"]["Properties"]["Targets"])
    assert resolved["Id"] == target and resolved["Arn"] == f"arn:{target}"
    assert resolved["DeadLetterConfig"] == {"Arn": "arn:EventDeadLetterQueue"}
    assert 0 <= resolved["RetryPolicy"]["MaximumRetryAttempts"] <= 185
    assert resolved["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400
    assert CT.rule_target(r) == target
    assert not absent & existing(mode)
    present = {"FanoutBufferQueue", "FanoutBufferQueuePolicy", "FanoutBufferEventSource", "FanoutInvokePermission"} - absent
    assert present <= existing(mode)


def test_buffer_mode_defaults_to_sqs():
    assert PARAMS["BufferMode"]["Default"] == "sqs"
    assert sorted(PARAMS["BufferMode"]["AllowedValues"]) == ["direct", "sqs"]
    assert CT.rule_target(resolver(CT)) == "FanoutBufferQueue"


def test_event_rule_forwards_the_genesys_topics_of_its_bus():
    rule = RES["GenesysEventRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "GenesysEventBusName"}
    assert rule["EventPattern"]["detail-type"] == {"Ref": "GenesysTopicFilter"}
    assert rule["EventPattern"]["source"] == [{"prefix": "aws.partner/genesys.com"}]
    perm = RES["FanoutInvokePermission"]["Properties"]
    assert perm["Principal"] == "events.amazonaws.com" and refs_in(perm["SourceArn"]) == {"GenesysEventRule"}


# (mapping, queue, function, BatchSize parameter, window parameter, MaximumConcurrency parameter)
EVENT_SOURCES = [
    ("FanoutBufferEventSource", "FanoutBufferQueue", "FanoutFunction", "FanoutBatchSize", "FanoutBatchWindowSeconds",
     "FanoutBufferMaxConcurrency"),
    ("EnrichEventSource", "EnrichmentQueue", "EnrichFunction", "EnrichBatchSize", "EnrichBatchWindowSeconds",
     "EnrichMaxConcurrency"),
]


def test_the_event_source_mappings():
    assert {lid for lid, r in RES.items() if r["Type"] == "AWS::Lambda::EventSourceMapping"} == {
        m[0] for m in EVENT_SOURCES}
    for res in RES.values():
        if res["Type"] == "AWS::Serverless::Function":
            assert "Events" not in res["Properties"], "event sources are the explicit mappings"


@pytest.mark.parametrize("mapping,queue,function,size,window,concurrency", EVENT_SOURCES, ids=[m[0] for m in EVENT_SOURCES])
def test_event_source_mapping(mapping, queue, function, size, window, concurrency):
    props = RES[mapping]["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert props["FunctionName"] == {"Ref": function}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == {"Ref": size}
    assert refs_in(props["MaximumBatchingWindowInSeconds"]) == {window}
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": concurrency}}
    # The parameters refuse what Lambda refuses for an SQS standard queue, and take their defaults.
    for parameter, (low, high) in ((size, (1, 10000)), (window, (0, 300)), (concurrency, (2, 1000))):
        assert accepts(parameter, PARAMS[parameter]["Default"]), parameter
        assert not accepts(parameter, low - 1) and not accepts(parameter, high + 1), f"{parameter}: outside {low}-{high}"
    # As the local stack resolves it, with the defaults.
    (source,) = [s for s in CT.event_sources(resolver(CT)) if s.logical_id == mapping]
    assert (source.function, source.queue, source.report_failures) == (FUNCTIONS[function], queue, True)
    assert source.batch_size == int(PARAMS[size]["Default"])
    assert source.window == float(PARAMS[window]["Default"])
    assert source.max_concurrency == int(PARAMS[concurrency]["Default"])


def test_fanout_batch_window_zero_means_none():
    (source,) = [s for s in CT.event_sources(resolver(CT, FanoutBatchWindowSeconds="0"))
                 if s.logical_id == "FanoutBufferEventSource"]
    assert source.window == 0.0


def test_enrich_concurrency_and_its_budget_share_come_from_one_parameter():
    """Each enrich instance takes GENESYS_REQUESTS_PER_MINUTE / ENRICH_MAX_CONCURRENCY: the mapping must not run
    more instances than the function divides by."""
    mapping = RES["EnrichEventSource"]["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert env_vars("EnrichFunction")["ENRICH_MAX_CONCURRENCY"] == mapping == {"Ref": "EnrichMaxConcurrency"}


def test_queues_consumed_by_a_function_outlast_six_of_its_timeouts():
    r = resolver(CT)
    consumed = {}
    for lid, res in RES.items():
        if res["Type"] == "AWS::Lambda::EventSourceMapping":
            consumed[res["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]] = res["Properties"]["FunctionName"]["Ref"]
    assert set(consumed) == {"FanoutBufferQueue", "EnrichmentQueue"}
    for queue, function in consumed.items():
        visibility = int(r.resolve(RES[queue]["Properties"].get("VisibilityTimeout", 30)))
        assert visibility >= 6 * timeout(function), f"{queue}: {visibility} s < 6 x {function}'s {timeout(function)} s"


@pytest.mark.parametrize("queue,dead_letter_queue", [("EnrichmentQueue", "EnrichmentDeadLetterQueue"),
                                                     ("FanoutBufferQueue", "EventDeadLetterQueue")])
def test_consumed_queues_redrive_to_their_dead_letter_queue(queue, dead_letter_queue):
    redrive = RES[queue]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": [dead_letter_queue, "Arn"]}
    assert 1 <= redrive["maxReceiveCount"] <= 10


def test_state_machine_wiring():
    sm = RES["PipelineStateMachine"]["Properties"]
    assert sm["DefinitionUri"] == "state_machine.asl.json"
    assert sm["Type"] == {"Ref": "WorkflowType"}
    assert set(PARAMS["WorkflowType"]["AllowedValues"]) == {"STANDARD", "EXPRESS"}
    assert PARAMS["WorkflowType"]["Default"] == "STANDARD"
    assert sm["Tracing"] == {"Enabled": {"Fn::If": ["XRayOn", True, False]}}
    assert sm["Logging"]["IncludeExecutionData"] is False, "execution data holds conversation details"
    (dest,) = sm["Logging"]["Destinations"]
    assert dest["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
    assert sm["DefinitionSubstitutions"] == {
        "ValidateFunctionArn": {"Fn::GetAtt": ["ValidateFunction", "Arn"]},
        "ProcessFunctionArn": {"Fn::GetAtt": ["ProcessFunction", "Arn"]},
        "SaveFunctionArn": {"Fn::GetAtt": ["SaveFunction", "Arn"]},
        "DeadLetterQueueUrl": {"Ref": "DeadLetterQueue"},
    }


def test_table():
    t = RES["ConversationsTable"]["Properties"]
    assert t["BillingMode"] == "PAY_PER_REQUEST"
    assert t["KeySchema"] == [{"AttributeName": "conversationId", "KeyType": "HASH"}]
    assert t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert "SSESpecification" not in t, "the AWS-owned key: encrypted at rest, no KMS charges"
    assert t["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert t["DeletionProtectionEnabled"] == {"Fn::If": ["RetainData", True, False]}


def test_the_customer_index():
    """One Query answers "this customer's latest conversations": hash customerKey, range customerContactAt, as
    process writes them (crates/core/src/contract/record.rs: serialized camelCase, a string and epoch ms)."""
    t = RES["ConversationsTable"]["Properties"]
    types = {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}
    assert types == {"conversationId": "S", "customerKey": "S", "customerContactAt": "N"}
    (index,) = t["GlobalSecondaryIndexes"]
    assert index == {
        "IndexName": CUSTOMER_INDEX,
        "KeySchema": [{"AttributeName": "customerKey", "KeyType": "HASH"},
                      {"AttributeName": "customerContactAt", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    # recent-contact's query reads the keys only (CONTACT); the details come from one GetItem of the table.
    action = (ROOT / "crates" / "data-action" / "src" / "actions" / "recent_contact.rs").read_text()
    assert 'const CONTACT: &str = "#c, #at";' in action
    assert env_vars("DataActionFunction")["CUSTOMER_INDEX"]["Fn::If"][1] == CUSTOMER_INDEX
    contract = (ROOT / "crates" / "core" / "src" / "contract" / "record.rs").read_text(encoding="utf-8")
    assert "pub customer_key: Option<String>" in contract and "pub customer_contact_at: Option<i64>" in contract


def test_the_data_action_may_only_query_the_customer_index_and_read_one_item():
    query, get = [st for st in iam_statements(CFN)
                  if st.role == "DataActionFunctionRole" and any(a.startswith("dynamodb:") for a in st.actions)]
    assert as_list(query.actions) == ["dynamodb:Query"]
    assert query.resources == [{"Fn::Sub": "${ConversationsTable.Arn}/index/" + CUSTOMER_INDEX}]
    assert as_list(get.actions) == ["dynamodb:GetItem"], "no Scan, no write"
    assert get.resources == [{"Fn::GetAtt": ["ConversationsTable", "Arn"]}]


def test_the_customer_key_is_generated_and_read_by_process_and_the_data_action_only():
    secret = RES["CustomerKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret" and "Condition" not in secret
    assert secret["Properties"]["GenerateSecretString"] == {"PasswordLength": 64, "ExcludePunctuation": True}
    assert "SecretString" not in secret["Properties"], "nobody chooses or sees the key"
    # Kept with the table: the stored customer keys only match under this key.
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == {"Ref": "DataRetention"}
    readers = {lid for lid in FUNCTIONS if any(refs_in(v) & {"CustomerKeySecret"} for v in env_vars(lid).values())}
    assert readers == {"ProcessFunction", "DataActionFunction"}
    assert env_vars("ProcessFunction")["CUSTOMER_KEY_SECRET_ARN"] == {"Ref": "CustomerKeySecret"}
    # The data action reads it (and queries the table) only when it serves recent-contact.
    recent = env_vars("DataActionFunction")
    for var, value in [("CUSTOMER_KEY_SECRET_ARN", {"Ref": "CustomerKeySecret"}),
                       ("TABLE_NAME", {"Ref": "ConversationsTable"}), ("CUSTOMER_INDEX", CUSTOMER_INDEX)]:
        assert recent[var] == {"Fn::If": ["HasRecentContact", value, {"Ref": "AWS::NoValue"}]}, var
    assert T["Conditions"]["HasRecentContact"] == {"Fn::Equals": [{"Ref": "RecentContact"}, "enabled"]}
    assert PARAMS["RecentContact"]["Default"] == "enabled"
    for lid in readers:
        assert "CUSTOMER_KEY" not in env_vars(lid), "the key itself is for local runs only"
    assert T["Outputs"]["CustomerKeySecretArn"]["Value"] == {"Ref": "CustomerKeySecret"}


def test_state_survives_deleting_or_replacing_the_stack_unless_it_is_a_throw_away_stack():
    assert PARAMS["DataRetention"]["Default"] == "Retain"
    assert PARAMS["DataRetention"]["AllowedValues"] == ["Retain", "Delete"]
    assert T["Transform"][0] == "AWS::LanguageExtensions", "Ref in DeletionPolicy needs the language extensions"
    stateful = {lid for lid, r in RES.items() if r["Type"] in ("AWS::SQS::Queue", "AWS::DynamoDB::Table")}
    assert {"ConversationsTable", "DeadLetterQueue", "EnrichmentQueue", "FanoutBufferQueue"} <= stateful
    for lid in stateful:
        assert RES[lid].get("DeletionPolicy") == {"Ref": "DataRetention"}, lid
        assert RES[lid].get("UpdateReplacePolicy") == {"Ref": "DataRetention"}, lid


def test_the_enrichment_dead_letter_queue_takes_redrives_only_from_the_enrichment_queue():
    name = RES["EnrichmentQueue"]["Properties"]["QueueName"]
    policy = RES["EnrichmentDeadLetterQueue"]["Properties"]["RedriveAllowPolicy"]
    assert policy["redrivePermission"] == "byQueue"
    (arn,) = policy["sourceQueueArns"]
    stack_id = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert name == {"Fn::Join": ["-", ["gcx-enrichment", stack_id]]}
    parts = arn["Fn::Join"][1]
    assert parts[-2:] == [":gcx-enrichment-", stack_id] and parts[2] == ":sqs:", "the ARN must name that queue"
    # The stack id's UUID keeps the name unique and under SQS's 80 characters.
    assert len("gcx-enrichment-") + 36 <= 80


def test_queues_nobody_redrives_into_refuse_redrives():
    for lid in ("DeadLetterQueue", "FanoutDeadLetterQueue"):
        assert RES[lid]["Properties"]["RedriveAllowPolicy"] == {"redrivePermission": "denyAll"}, lid


def dead_letter_queues() -> set[str]:
    """Every queue the template uses as a dead-letter queue: redrive targets, rule and async-invoke dead letters,
    the state machine's and the functions' *_DEAD_LETTER_QUEUE_URL."""
    out = set()
    for lid, res in RES.items():
        props = res.get("Properties", {})
        if "RedrivePolicy" in props:
            out |= refs_in(props["RedrivePolicy"]["deadLetterTargetArn"])
        if res["Type"] == "AWS::Events::Rule":
            out |= {n for t in props["Targets"] for n in refs_in(t) if "DeadLetter" in n}
        if "EventInvokeConfig" in props:
            out |= refs_in(props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"])
        if res["Type"] == "AWS::Serverless::Function":
            out |= {n for var, v in env_vars(lid).items() if var.endswith("DEAD_LETTER_QUEUE_URL") for n in refs_in(v)}
    out |= refs_in(RES["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]["DeadLetterQueueUrl"])
    return out


def test_queues_are_encrypted_and_dead_letter_queues_keep_14_days():
    dlqs = dead_letter_queues()
    assert dlqs == {"EventDeadLetterQueue", "FanoutDeadLetterQueue", "DeadLetterQueue", "EnrichmentDeadLetterQueue"}
    for lid, res in RES.items():
        if res["Type"] == "AWS::SQS::Queue":
            props = res["Properties"]
            assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, lid
            if lid in dlqs or "DeadLetter" in lid:
                assert props["MessageRetentionPeriod"] == 1209600, lid
            else:
                assert props["MessageRetentionPeriod"] < 1209600, f"{lid} would keep messages its DLQ has lost"


def test_outputs():
    want = {
        "DataActionFunctionArn", "FanoutFunctionArn", "ValidateFunctionArn", "ProcessFunctionArn", "SaveFunctionArn",
        "EnrichFunctionArn", "StateMachineArn", "ConversationsTableName", "DeadLetterQueueUrl",
        "FanoutDeadLetterQueueUrl", "EventDeadLetterQueueUrl", "EnrichmentQueueUrl", "EnrichmentDeadLetterQueueUrl",
        "FanoutBufferQueueUrl", "GenesysDataActionRoleArn", "GenesysExternalId", "GenesysCredentialsSecretArnInUse",
    }
    outputs = T["Outputs"]
    assert want <= set(outputs), want - set(outputs)
    assert outputs["GenesysExternalId"]["Value"] == {"Ref": "GenesysOrgId"}
    assert outputs["FanoutBufferQueueUrl"]["Condition"] == "UseSqsBuffer"
    assert outputs["GenesysCredentialsSecretArnInUse"]["Value"] == env_vars("EnrichFunction")["GENESYS_CREDENTIALS_SECRET_ARN"]
    for name, out in outputs.items():
        if name.endswith("QueueUrl"):
            assert out["Value"] == {"Ref": name.removesuffix("Url")}, name
        if name.endswith("FunctionArn"):
            assert out["Value"] == {"Fn::GetAtt": [name.removesuffix("Arn"), "Arn"]}, name


# ------------------------------------------------------------------------------------------ security


XRAY_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# EC2's Describe actions have no resource-level permissions; the data action gets them only in a VPC.
ENI_DESCRIBE_ACTIONS = frozenset({"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"})


def test_no_wildcard_resource_except_logs_delivery_and_tracing():
    statements = iam_statements(CFN)
    assert len(statements) > 5
    for st in statements:
        if st.body.get("Effect") != "Allow":
            continue
        assert not any(a == "*" or a.endswith(":*") for a in st.actions), f"{st.owner}: wildcard action {st.actions}"
        if "*" in st.resources:
            extra = set(st.actions) - LOGS_DELIVERY_ACTIONS - XRAY_ACTIONS
            if st.role == "DataActionFunctionRole":
                extra -= ENI_DESCRIBE_ACTIONS
            assert not extra, f"{st.owner}: Resource '*' for {sorted(extra)}"
    wildcard_owners = {st.role for st in statements if "*" in st.resources}
    assert wildcard_owners == {"PipelineStateMachineRole", *(f"{f}Role" for f in FUNCTIONS)}, wildcard_owners


def test_wildcard_resources_are_documented_in_the_template():
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    star = [i for i, line in enumerate(lines) if re.search(r"Resource:\s*['\"]\*['\"]", line)]
    assert len(star) == 2 + len(FUNCTIONS), "logs delivery, X-Ray once per function role, the data action's EC2 Describe"
    for i in star:
        assert "resource-level permissions" in "\n".join(lines[max(0, i - 20): i]), lines[i - 3: i + 1]


def test_each_function_writes_only_its_own_log_group():
    for lid in FUNCTIONS:
        role = RES[lid]["Properties"]["Role"]
        assert role == {"Fn::GetAtt": [f"{lid}Role", "Arn"]}, lid
        logs = {(a, names) for a, names in grants(CFN, f"{lid}Role") if a.startswith("logs:")}
        group = RES[lid]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert logs == {("logs:CreateLogStream", frozenset({group})), ("logs:PutLogEvents", frozenset({group}))}, lid


def test_managed_policies_are_only_logs_and_tracing():
    allowed = {"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
               "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}
    for lid, res in CFN["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            assert set(res["Properties"].get("ManagedPolicyArns", [])) <= allowed, lid


# Everything each role may do: {(action, the template names its resources reference)} (both Fn::If branches).
LOGS_DELIVERY = {(a, frozenset({"*"})) for a in LOGS_DELIVERY_ACTIONS}
def own_logs(group: str) -> set:
    return {("logs:CreateLogStream", frozenset({group})), ("logs:PutLogEvents", frozenset({group})),
            ("xray:PutTraceSegments", frozenset({"*"})), ("xray:PutTelemetryRecords", frozenset({"*"}))}


ROLE_GRANTS = {
    "DataActionFunctionRole": {
        *own_logs("DataActionLogGroup"),("secretsmanager:GetSecretValue", frozenset({"ExternalApiTokenSecretArn"})),
        CUSTOMER_KEY,
        ("dynamodb:Query", frozenset({"ConversationsTable"})),  # its CustomerRecency index only (below)
        ("dynamodb:GetItem", frozenset({"ConversationsTable"})),  # the newest contact's details (below)
        # In a VPC only (DataActionSubnetIds): Lambda's network interfaces, in this account and region.
        *{(a, frozenset({"*"})) for a in ENI_DESCRIBE_ACTIONS},
        *{(a, frozenset())  # no resource of the stack: this account and region (test_the_data_action_joins_a_vpc...)
          for a in ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses")},
    },
    "FanoutFunctionRole": {
        *own_logs("FanoutLogGroup"),
        ("states:StartExecution", frozenset({"PipelineStateMachine"})),
        send("EventDeadLetterQueue"),
        ("sqs:SendMessage", frozenset({"FanoutDeadLetterQueue"})),  # SAM's, for the on-failure destination
        *poll("FanoutBufferQueue"),
    },
    "ValidateFunctionRole": own_logs("ValidateLogGroup"),
    "ProcessFunctionRole": {*own_logs("ProcessLogGroup"), CUSTOMER_KEY},
    "SaveFunctionRole": {
        *own_logs("SaveLogGroup"),
        ("dynamodb:UpdateItem", frozenset({"ConversationsTable"})),
        send("EnrichmentQueue"),
        send("DeadLetterQueue"),
    },
    "EnrichFunctionRole": {
        *own_logs("EnrichLogGroup"),
        ("secretsmanager:GetSecretValue", GENESYS_SECRET),
        ("dynamodb:UpdateItem", frozenset({"ConversationsTable"})),
        *poll("EnrichmentQueue"),
        send("EnrichmentQueue"),
        send("EnrichmentDeadLetterQueue"),
    },
    "PipelineStateMachineRole": {
        ("lambda:InvokeFunction", frozenset({"ValidateFunction", "ProcessFunction", "SaveFunction"})),
        ("sqs:SendMessage", frozenset({"DeadLetterQueue"})),
        *LOGS_DELIVERY,
    },
    "GenesysDataActionInvokeRole": {("lambda:InvokeFunction", frozenset({"DataActionFunction"}))},
}


def test_every_role_is_checked():
    roles = {lid for lid, res in CFN["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    assert roles == set(ROLE_GRANTS)


@pytest.mark.parametrize("role", sorted(ROLE_GRANTS))
def test_least_privilege(role):
    got = grants(CFN, role)
    want = ROLE_GRANTS[role]
    assert got == want, f"{role}: extra {sorted(got - want, key=str)}, missing {sorted(want - got, key=str)}"


def test_state_machine_may_invoke_exactly_its_task_functions():
    asl = load_asl()
    subs = RES["PipelineStateMachine"]["Properties"]["DefinitionSubstitutions"]
    used = set()
    for st in (s for m in [asl] for s in m["States"].values()):
        if st["Type"] == "Task" and st["Resource"] != SQS_SEND:
            used |= refs_in(subs[st["Resource"].strip("${}")])
    invoked = {n for action, names in grants(CFN, "PipelineStateMachineRole") if action == "lambda:InvokeFunction"
               for n in names}
    assert invoked == used == {"ValidateFunction", "ProcessFunction", "SaveFunction"}
    # Exactly the functions' unqualified ARNs: no `function:<name>*` wildcard.
    for st in iam_statements(CFN):
        if st.role == "PipelineStateMachineRole" and "lambda:InvokeFunction" in st.actions:
            assert sorted(st.resources, key=str) == sorted(
                ({"Fn::GetAtt": [f, "Arn"]} for f in ("ValidateFunction", "ProcessFunction", "SaveFunction")), key=str)
        if st.role == "PipelineStateMachineRole" and any(a.startswith("sqs:") for a in st.actions):
            assert st.actions == ["sqs:SendMessage"] or st.actions == {"sqs:SendMessage"}, st.actions


def test_secret_like_parameters_are_no_echo():
    for name, p in PARAMS.items():
        if re.search(r"secret|password|token", name, re.I) and not name.endswith("Arn"):
            assert str(p.get("NoEcho", "false")).lower() == "true", f"parameter {name} must be NoEcho"


def test_no_function_environment_holds_a_secret():
    for lid in FUNCTIONS:
        for var, value in env_vars(lid).items():
            if re.search(r"SECRET|TOKEN|PASSWORD", var):
                assert var.endswith("_ARN"), f"{lid}: {var} would hold a secret value; pass a Secrets Manager ARN"
            leaked = refs_in(value) & no_echo_params()
            assert not leaked, f"{lid}: {var} exposes NoEcho parameter(s) {leaked}"
            if refs_in(value) & GENESYS_SECRET:
                assert (lid, var) == ("EnrichFunction", "GENESYS_CREDENTIALS_SECRET_ARN")


@pytest.mark.parametrize("binary", [b for b in BINARIES if b != "enrich"])
def test_only_enrich_gets_genesys_credentials(binary):
    lid = LOGICAL_ID[binary]
    names = set(env_vars(lid))
    assert not {n for n in names if n.startswith("GENESYS_")}, f"{lid} has Genesys variables {names}"
    assert "GenesysCredentialsSecret" not in json.dumps(CFN["Resources"][f"{lid}Role"])


def test_enrich_reads_exactly_the_genesys_secret():
    env = env_vars("EnrichFunction")
    assert env["GENESYS_CREDENTIALS_SECRET_ARN"] == {
        "Fn::If": ["UseExistingGenesysSecret", {"Ref": "GenesysCredentialsSecretArn"}, {"Ref": "GenesysCredentialsSecret"}]}
    assert not {"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"} & set(env)
    readers: dict[str, set[str]] = {}
    for st in iam_statements(CFN):
        if any(a.startswith("secretsmanager:") for a in st.actions):
            readers.setdefault(st.role, set()).update(refs_in(st.resources))
    assert readers == {"EnrichFunctionRole": GENESYS_SECRET,
                       "DataActionFunctionRole": {"ExternalApiTokenSecretArn", "CustomerKeySecret"},
                       "ProcessFunctionRole": {"CustomerKeySecret"}}


def test_created_secret_is_conditional_on_no_existing_arn():
    secret = RES["GenesysCredentialsSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert T["Conditions"][secret["Condition"]] == {"Fn::Equals": [{"Ref": "GenesysCredentialsSecretArn"}, ""]}
    assert T["Conditions"]["UseExistingGenesysSecret"] == {"Fn::Not": [T["Conditions"][secret["Condition"]]]}
    assert {"GenesysClientId", "GenesysClientSecret"} <= no_echo_params()


def test_genesys_role_trusts_only_the_genesys_account_with_the_org_id():
    role = RES["GenesysDataActionInvokeRole"]
    assert role["Type"] == "AWS::IAM::Role"
    (stmt,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Effect"] == "Allow"
    assert as_list(stmt["Action"]) == ["sts:AssumeRole"]
    assert stmt["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${GenesysAwsAccountId}:root"}}
    assert f"arn:aws:iam::{PARAMS['GenesysAwsAccountId']['Default']}:root" == GENESYS_ACCOUNT_ROOT
    assert stmt["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "GenesysOrgId"}}}
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert len(statements) == 1
    assert as_list(statements[0]["Action"]) == ["lambda:InvokeFunction"]
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["DataActionFunction", "Arn"]}


def test_queue_policies_admit_only_the_genesys_rule():
    policies = {lid: res for lid, res in CFN["Resources"].items() if res["Type"] == "AWS::SQS::QueuePolicy"}
    assert {q for res in policies.values() for q in refs_in(res["Properties"]["Queues"])} == {
        "EventDeadLetterQueue", "FanoutBufferQueue"}
    for lid, res in policies.items():
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            assert st["Principal"] == {"Service": "events.amazonaws.com"}, lid
            assert as_list(st["Action"]) == ["sqs:SendMessage"], lid
            assert refs_in(st["Resource"]) == refs_in(res["Properties"]["Queues"]), lid
            assert st["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["GenesysEventRule", "Arn"]}}}, lid


def test_samconfig_example_deploys_with_iam_capability():
    """The shipped example (users copy it to their own, git-ignored samconfig.toml) deploys as written, once its
    placeholders are replaced, and never holds a secret."""
    assert not (ROOT / "samconfig.toml").exists() or "samconfig.toml" in (ROOT / ".gitignore").read_text()
    cfg = tomllib.loads((ROOT / "samconfig.example.toml").read_text(encoding="utf-8"))
    deploy = cfg["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in as_list(deploy["capabilities"])
    assert deploy["resolve_s3"] is True
    # Read as `sam deploy` reads it (a list, one Name=value each, or the older one-string form).
    from samcli.cli.types import CfnParameterOverridesType
    overrides = CfnParameterOverridesType().convert(deploy["parameter_overrides"], None, None)
    assert "GenesysClientSecret" not in overrides, "never put the client secret in samconfig.example.toml"
    assert set(overrides) <= set(PARAMS), f"samconfig.example.toml overrides unknown parameters {set(overrides) - set(PARAMS)}"
    required = {n for n, p in PARAMS.items() if "Default" not in p}
    assert required <= set(overrides), f"samconfig.example.toml lacks placeholders for {required - set(overrides)}"
    for name, value in overrides.items():
        if value.startswith("<") and value.endswith(">"):
            assert not accepts(name, value), f"{name}: the placeholder {value} would deploy instead of failing fast"
        else:
            assert accepts(name, value), f"samconfig.example.toml: {name}={value} is not a value the template takes"


def test_the_upstream_is_https_unless_an_explicit_insecure_url_is_given():
    """https only through ExternalApiUrl; http only through ExternalApiInsecureUrl, which also sets
    EXTERNAL_API_ALLOW_HTTP (the code refuses a token over http otherwise); exactly one of the two."""
    url, insecure = PARAMS["ExternalApiUrl"], PARAMS["ExternalApiInsecureUrl"]
    assert re.fullmatch(url["AllowedPattern"], "https://api.example.com/v1")
    assert not re.fullmatch(url["AllowedPattern"], "http://api.example.com/v1")
    assert re.fullmatch(insecure["AllowedPattern"], "http://10.0.0.5:8080/v1")
    assert not re.fullmatch(insecure["AllowedPattern"], "https://api.example.com/v1")
    assert url["Default"] == insecure["Default"] == ""
    env = env_vars("DataActionFunction")
    assert env["EXTERNAL_API_URL"] == {"Fn::If": ["UseInsecureExternalApi", {"Ref": "ExternalApiInsecureUrl"},
                                                  {"Ref": "ExternalApiUrl"}]}
    assert env["EXTERNAL_API_ALLOW_HTTP"] == {"Fn::If": ["UseInsecureExternalApi", "true", {"Ref": "AWS::NoValue"}]}
    assertions = T["Rules"]["ExternalApiUrlGiven"]["Assertions"]
    assert len(assertions) == 2, "one of the two is required, and not both"


# ------------------------------------------------------------------------------------------- guards (docs/deploy.md)


def rule_holds(rule: str, **parameters: str) -> bool:
    """Every assertion of `rule` (Rules functions: Fn::Equals, Fn::Not, Fn::Or, Fn::And, Fn::Contains) for these
    parameter values over the defaults."""
    values = {**{n: str(p.get("Default", "")) for n, p in PARAMS.items()}, **parameters}

    def ev(node):
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return values[arg]
            if key == "Fn::Equals":
                return str(ev(arg[0])) == str(ev(arg[1]))
            if key == "Fn::Not":
                return not ev(arg[0])
            if key == "Fn::Or":
                return any(ev(a) for a in arg)
            if key == "Fn::And":
                return all(ev(a) for a in arg)
            if key == "Fn::Contains":
                return str(ev(arg[1])) in [str(ev(v)) for v in arg[0]]
            raise AssertionError(f"{rule}: a Rules function this check does not know: {key}")
        return node

    r = T["Rules"][rule]
    if "RuleCondition" in r and not ev(r["RuleCondition"]):
        return True
    return all(ev(a["Assert"]) for a in r["Assertions"])


def test_the_enrich_reservation_is_never_below_the_event_sources_maximum_concurrency():
    """AWS: "Don't set maximum concurrency higher than the function's reserved concurrency" (it throttles the event
    source: messages come back every 720 s and reach the dead-letter queue after 10 receives)."""
    fn = RES["EnrichFunction"]["Properties"]
    assert fn["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasEnrichReservedConcurrency", {"Ref": "EnrichReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    esm = RES["EnrichEventSource"]["Properties"]
    assert esm["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "EnrichMaxConcurrency"}
    reserved_pattern = PARAMS["EnrichReservedConcurrency"]["AllowedPattern"]
    max_pattern = PARAMS["EnrichMaxConcurrency"]["AllowedPattern"]
    allowed_somewhere = 0
    for maximum in range(2, 51):
        assert re.fullmatch(max_pattern, str(maximum))
        for reserved in [0, *range(2, 60), 100, 9999]:
            if not re.fullmatch(reserved_pattern, str(reserved)):
                continue
            holds = rule_holds("EnrichReservationCoversMaxConcurrency", EnrichMaxConcurrency=str(maximum),
                               EnrichReservedConcurrency=str(reserved))
            if holds:
                allowed_somewhere += 1
                assert reserved == 0 or reserved >= maximum, (maximum, reserved)
            if reserved == 0 or reserved == maximum or reserved >= 50:
                assert holds, (maximum, reserved)
    assert allowed_somewhere > 49 * 3
    assert rule_holds("EnrichReservationCoversMaxConcurrency"), "the defaults deploy"


@pytest.mark.parametrize("bus", ["default", "aws.partner/genesys.com/cloud/f5daa06d/genesys-aws-toolkit", "custom"])
def test_the_rule_metrics_name_the_rule_on_every_bus_the_parameter_accepts(bus):
    """AWS/Events metrics of a rule on the default bus have the dimension RuleName only; on any other bus also
    EventBusName. Ref of a rule is undocumented, so the rule is named and the dimension built from the name."""
    assert re.fullmatch(PARAMS["GenesysEventBusName"]["AllowedPattern"], bus)
    r = resolver(cfn_template(), GenesysEventBusName=bus)
    name = r.resolve(RES["GenesysEventRule"]["Properties"]["Name"])
    assert re.fullmatch(r"gcx-genesys-[0-9a-f-]{36}", name) and len(name) <= 64
    dims = r.resolve(RES["GenesysEventRuleFailedInvocationsAlarm"]["Properties"]["Dimensions"])
    want = [{"Name": "RuleName", "Value": name}]
    if bus != "default":
        want = [{"Name": "EventBusName", "Value": bus}, *want]
    assert dims == want
    body = json.loads(r.resolve(RES["PipelineDashboard"]["Properties"]["DashboardBody"]))
    matched = [m for w in body["widgets"] for m in w["properties"].get("metrics", []) if m[:2] == ["AWS/Events", "MatchedEvents"]]
    (metric,) = matched
    assert metric[2:-1] == [x for d in want for x in (d["Name"], d["Value"])]
    assert "GenesysEventRule" not in json.dumps(RES["GenesysEventRuleFailedInvocationsAlarm"]["Properties"]["Dimensions"]), (
        "no parsing of the rule's Ref")


def test_an_alarm_watches_the_oldest_conversation_still_waiting_for_its_enrichment():
    alarm = RES["EnrichmentLagAlarm"]["Properties"]
    assert alarm["MetricName"] == "oldestWaitingMs"
    assert alarm["Dimensions"] == [{"Name": "function", "Value": "enrich"}]
    assert alarm["Statistic"] == "Maximum" and alarm["Threshold"] <= 3_600_000
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert '"oldestWaitingMs"' in (ROOT / "crates" / "enrich" / "src" / "lib.rs").read_text(), "enrich reports it"
    assert "### Enrichment is late (`EnrichmentLagAlarm`)" in (ROOT / "docs" / "deploy.md").read_text()


# ------------------------------------------------------------------------------------------ private network

VPC = {"DataActionSubnetIds": "subnet-0123456789abcdef0,subnet-0fedcba9876543210",
       "DataActionSecurityGroupIds": "sg-0123456789abcdef0"}
ENI_ACTIONS = {"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
               "ec2:DescribeSubnets", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}


def role_actions(r, role: str) -> set[str]:
    actions = set()
    for policy in r.resolve(RES[role]["Properties"].get("Policies", [])):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions |= set(as_list(statement["Action"]))
    return actions


@pytest.mark.parametrize("vpc", [False, True], ids=["no-vpc", "vpc"])
def test_the_data_action_joins_a_vpc_only_with_its_parameters_and_only_then_gets_eni_permissions(vpc):
    r = resolver(CT, **(VPC if vpc else {}))
    config = r.resolve(RES["DataActionFunction"]["Properties"]).get("VpcConfig")
    actions = role_actions(r, "DataActionFunctionRole")
    if vpc:
        assert config == {"SubnetIds": VPC["DataActionSubnetIds"], "SecurityGroupIds": VPC["DataActionSecurityGroupIds"]}
        assert ENI_ACTIONS <= actions
        for policy in r.resolve(RES["DataActionFunctionRole"]["Properties"]["Policies"]):
            for st in policy["PolicyDocument"]["Statement"]:
                if set(as_list(st["Action"])) & (ENI_ACTIONS - ENI_DESCRIBE_ACTIONS):
                    assert st["Resource"] == "arn:aws:ec2:us-east-1:123456789012:*", st
    else:
        assert config is None
        assert not {a for a in actions if a.startswith("ec2:")}, "ENI permissions without a VPC"
    # No other role gains anything of EC2, with or without.
    for lid, res in RES.items():
        if res["Type"] == "AWS::IAM::Role" and lid != "DataActionFunctionRole":
            assert not {a for a in role_actions(r, lid) if a.startswith("ec2:")}, lid


def test_sam_validate_lint_passes_with_the_vpc_parameters(tmp_path):
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in VPC.items():
        block = text.index(f"\n  {name}:\n")
        default = text.index("    Default: ''\n", block)
        text = text[:default] + f"    Default: '{value}'\n" + text[default + len("    Default: ''\n"):]
    (tmp_path / "template.yaml").write_text(text, encoding="utf-8")
    shutil.copy(ASL, tmp_path / ASL.name)
    r = run([tool("sam"), "validate", "--lint", "--template-file", str(tmp_path / "template.yaml")],
            AWS_DEFAULT_REGION="us-east-1")
    assert r.returncode == 0, f"sam validate --lint with {VPC}:\n{r.stdout}{r.stderr}"


@pytest.mark.parametrize("given,accepted", [
    ({}, True), (VPC, True),
    ({"DataActionSubnetIds": VPC["DataActionSubnetIds"]}, False),
    ({"DataActionSecurityGroupIds": VPC["DataActionSecurityGroupIds"]}, False),
], ids=["neither", "both", "subnets-only", "groups-only"])
def test_the_vpc_parameters_go_together(given, accepted):
    r = resolver(CT, **given)
    assertions = T["Rules"]["DataActionNetworkComplete"]["Assertions"]
    assert all(r.resolve(a["Assert"]) for a in assertions) is accepted
