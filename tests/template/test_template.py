"""template.yaml: the validators pass, it wires what docs/contracts.md says, and it stays least-privilege.

Tools (pinned in requirements.txt and package.json) are required, never skipped: cfn-lint, `sam validate`
(plain and --lint, offline with AWS_DEFAULT_REGION set) and asl-validator."""

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
    ALL_FUNCTIONS,
    ASL,
    GENESYS_ACCOUNT_ROOT,
    INSTALL_HINT,
    LOGS_DELIVERY_ACTIONS,
    ROOT,
    TEMPLATE,
    as_list,
    contract_env_vars,
    iam_statements,
    if_branches,
    load_template,
    refs_in,
    translate,
)

T = load_template()
RES: dict = T["Resources"]
PARAMS: dict = T["Parameters"]
CFN = translate(T)


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
    props = RES[logical_id]["Properties"]
    global_vars = T.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return {**global_vars, **props.get("Environment", {}).get("Variables", {})}


def no_echo_params() -> set[str]:
    return {name for name, p in PARAMS.items() if str(p.get("NoEcho", "false")).lower() == "true"}


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
    """With real-looking ARNs in place of ${...}, the Resource ARN checks run too."""
    values = {
        "ValidateFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:stack-ValidateFunction-abc",
        "ProcessFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:stack-ProcessFunction-abc",
        "SaveFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:stack-SaveFunction-abc",
        "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/stack-DeadLetterQueue-abc",
    }
    text = ASL.read_text(encoding="utf-8")
    for k, v in values.items():
        text = text.replace("${" + k + "}", v)
    assert "${" not in text
    resolved = tmp_path / "resolved.asl.json"
    resolved.write_text(text, encoding="utf-8")
    r = run([tool("asl-validator"), "--json-path", str(resolved)])
    assert r.returncode == 0, f"asl-validator:\n{r.stdout}{r.stderr}"


def test_asl_validator_rejects_a_dangling_next(tmp_path):
    """The validator is really checking (spec/local-stack.md: moto accepts a dangling Next)."""
    asl = json.loads(ASL.read_text(encoding="utf-8"))
    asl["States"]["ValidateEvent"]["Next"] = "NoSuchState"
    bad = tmp_path / "bad.asl.json"
    bad.write_text(json.dumps(asl), encoding="utf-8")
    r = run([tool("asl-validator"), "--json-path", str(bad)])
    assert r.returncode != 0


# ------------------------------------------------------------------------------------------ functions


@pytest.mark.parametrize("binary,logical_id", sorted(ALL_FUNCTIONS.items()))
def test_function_is_built_from_its_workspace_binary(binary, logical_id):
    res = RES[logical_id]
    assert res["Type"] == "AWS::Serverless::Function"
    assert res["Metadata"]["BuildMethod"] == "rust-cargolambda"
    assert res["Metadata"]["BuildProperties"]["Binary"] == binary
    assert res["Properties"]["CodeUri"] == "."
    bins = set()
    for manifest in (ROOT / "crates").glob("*/Cargo.toml"):
        bins.update(b["name"] for b in tomllib.loads(manifest.read_text()).get("bin", []))
    assert binary in bins, f"no [[bin]] named {binary} in crates/*/Cargo.toml"


def test_globals_runtime_and_logging():
    g = T["Globals"]["Function"]
    assert g["Runtime"] == "provided.al2023"
    assert g["Architectures"] == ["arm64"]
    assert g["Handler"] == "bootstrap"
    assert g["Tracing"] == "Active"
    assert g["LoggingConfig"]["LogFormat"] == "JSON"
    assert 128 <= g["MemorySize"] <= 1024


@pytest.mark.parametrize("binary,logical_id", sorted(ALL_FUNCTIONS.items()))
def test_environment_uses_only_names_from_contracts(binary, logical_id):
    documented = contract_env_vars().get(binary, set())
    used = set(env_vars(logical_id))
    assert used <= documented, f"{logical_id} sets {sorted(used - documented)}, not in docs/contracts.md ## {binary}"


def test_required_environment():
    assert set(env_vars("FanoutFunction")) >= {"STATE_MACHINE_ARN"}
    assert set(env_vars("SaveFunction")) >= {"DYNAMODB_TABLE_NAME"}
    assert set(env_vars("DataActionFunction")) >= {"EXTERNAL_API_URL", "EXTERNAL_API_TIMEOUT"}
    assert set(env_vars("ProcessFunction")) >= {
        "GENESYS_ENV", "GENESYS_CREDENTIALS_SECRET_ARN", "ENRICH_TOPICS", "STORE_RAW_DETAILS",
    }
    assert env_vars("FanoutFunction")["STATE_MACHINE_ARN"] == {"Ref": "PipelineStateMachine"}
    assert env_vars("SaveFunction")["DYNAMODB_TABLE_NAME"] == {"Ref": "ConversationsTable"}


def test_fanout_async_retries_then_dead_letters():
    cfg = RES["FanoutFunction"]["Properties"]["EventInvokeConfig"]
    assert cfg["MaximumRetryAttempts"] == 2
    assert cfg["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    assert refs_in(cfg["DestinationConfig"]["OnFailure"]) == {"FanoutDeadLetterQueue"}


def test_event_rule_targets_follow_the_buffer_mode():
    rule = RES["GenesysEventRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "GenesysEventBusName"}
    assert rule["EventPattern"]["detail-type"] == {"Ref": "GenesysTopicFilter"}
    (target,) = rule["Targets"]
    cond, sqs_target, lambda_target = target["Fn::If"]
    assert cond == "UseSqsBuffer"
    assert refs_in(sqs_target["Arn"]) == {"FanoutBufferQueue"}
    assert refs_in(lambda_target["Arn"]) == {"FanoutFunction"}
    esm = RES["FanoutBufferEventSource"]
    assert esm["Condition"] == "UseSqsBuffer"
    assert esm["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert RES["FanoutInvokePermission"]["Condition"] == "UseDirectDelivery"
    assert RES["FanoutBufferQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    default_topics = PARAMS["GenesysTopicFilter"]["Default"].split(",")
    assert "v2.detail.events.conversation.{id}.customer.start" in default_topics
    assert all(t.startswith("v2.detail.events.conversation.{id}.") for t in default_topics)


def test_state_machine_wiring():
    sm = RES["PipelineStateMachine"]["Properties"]
    assert sm["DefinitionUri"] == "state_machine.asl.json"
    assert sm["Type"] == {"Ref": "WorkflowType"}
    assert set(PARAMS["WorkflowType"]["AllowedValues"]) == {"STANDARD", "EXPRESS"}
    assert PARAMS["WorkflowType"]["Default"] == "STANDARD"
    assert sm["Tracing"] == {"Enabled": True}
    (dest,) = sm["Logging"]["Destinations"]
    assert dest["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
    subs = sm["DefinitionSubstitutions"]
    assert subs["ValidateFunctionArn"] == {"Fn::GetAtt": ["ValidateFunction", "Arn"]}
    assert subs["ProcessFunctionArn"] == {"Fn::GetAtt": ["ProcessFunction", "Arn"]}
    assert subs["SaveFunctionArn"] == {"Fn::GetAtt": ["SaveFunction", "Arn"]}
    assert subs["DeadLetterQueueUrl"] == {"Ref": "DeadLetterQueue"}
    invoked = {p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in sm["Policies"] if "LambdaInvokePolicy" in p}
    assert invoked == {"ValidateFunction", "ProcessFunction", "SaveFunction"}


def test_table():
    t = RES["ConversationsTable"]["Properties"]
    assert t["BillingMode"] == "PAY_PER_REQUEST"
    assert t["KeySchema"] == [{"AttributeName": "conversationId", "KeyType": "HASH"}]
    assert t["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert t["SSESpecification"]["SSEEnabled"] is True
    assert t["TimeToLiveSpecification"]["AttributeName"] == "expiresAt"


def test_queues_are_encrypted_and_dead_letter_queues_keep_14_days():
    for lid, res in RES.items():
        if res["Type"] == "AWS::SQS::Queue":
            assert res["Properties"].get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in res["Properties"], lid
            if "DeadLetter" in lid:
                assert res["Properties"]["MessageRetentionPeriod"] == 1209600, lid


def test_outputs():
    want = {
        "DataActionFunctionArn", "FanoutFunctionArn", "ValidateFunctionArn", "ProcessFunctionArn", "SaveFunctionArn",
        "StateMachineArn", "ConversationsTableName", "DeadLetterQueueUrl", "FanoutDeadLetterQueueUrl",
        "GenesysDataActionRoleArn", "GenesysExternalId",
    }
    assert want <= set(T["Outputs"])
    assert T["Outputs"]["GenesysExternalId"]["Value"] == {"Ref": "GenesysOrgId"}


# ------------------------------------------------------------------------------------------ security


def test_no_wildcard_resource_except_logs_delivery():
    statements = iam_statements(CFN)
    assert len(statements) > 5
    for st in statements:
        if st.body.get("Effect") != "Allow":
            continue
        assert not any(a == "*" or a.endswith(":*") for a in st.actions), f"{st.owner}: wildcard action {st.actions}"
        if "*" in st.resources:
            extra = set(st.actions) - LOGS_DELIVERY_ACTIONS
            assert not extra, f"{st.owner}: Resource '*' for {sorted(extra)}"
    wildcard_owners = {st.owner.split("/")[0] for st in statements if "*" in st.resources}
    assert wildcard_owners <= {"PipelineStateMachineRole"}, wildcard_owners


def test_wildcard_resource_is_documented_in_the_template():
    text = TEMPLATE.read_text(encoding="utf-8")
    star = [i for i, line in enumerate(text.splitlines()) if re.search(r"Resource:\s*['\"]\*['\"]", line)]
    assert len(star) == 1, "exactly one Resource '*' (logs delivery)"
    before = "\n".join(text.splitlines()[max(0, star[0] - 20) : star[0]])
    assert "resource-level permissions" in before


def test_secret_like_parameters_are_no_echo():
    for name, p in PARAMS.items():
        if re.search(r"secret|password|token", name, re.I) and not name.endswith("Arn"):
            assert str(p.get("NoEcho", "false")).lower() == "true", f"parameter {name} must be NoEcho"


def test_no_function_environment_holds_a_secret():
    for lid, res in RES.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for var, value in env_vars(lid).items():
            if re.search(r"SECRET|TOKEN|PASSWORD", var):
                assert var.endswith("_ARN"), f"{lid}: {var} would hold a secret value; pass a Secrets Manager ARN"
            leaked = refs_in(value) & no_echo_params()
            assert not leaked, f"{lid}: {var} exposes NoEcho parameter(s) {leaked}"
            if "GenesysCredentialsSecret" in refs_in(value):
                assert lid == "ProcessFunction" and var == "GENESYS_CREDENTIALS_SECRET_ARN"


@pytest.mark.parametrize("logical_id", ["FanoutFunction", "ValidateFunction", "SaveFunction", "DataActionFunction"])
def test_only_process_gets_genesys_credentials(logical_id):
    names = set(env_vars(logical_id))
    assert not {n for n in names if n.startswith("GENESYS_")}, f"{logical_id} has Genesys variables {names}"
    role = CFN["Resources"][f"{logical_id}Role"]
    text = json.dumps(role)
    assert "GenesysCredentialsSecret" not in text


def test_process_reads_exactly_the_genesys_secret():
    secret_ref = env_vars("ProcessFunction")["GENESYS_CREDENTIALS_SECRET_ARN"]
    assert refs_in(secret_ref) == {"GenesysCredentialsSecretArn", "GenesysCredentialsSecret"}
    assert not {"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"} & set(env_vars("ProcessFunction"))
    sm_statements = [
        st for st in iam_statements(CFN) if any(a.startswith("secretsmanager:") for a in st.actions)
    ]
    for st in sm_statements:
        assert st.actions == ["secretsmanager:GetSecretValue"], st.body
        owner = st.owner.split("/")[0]
        targets = refs_in(st.resources)
        if owner == "ProcessFunctionRole":
            assert targets == {"GenesysCredentialsSecretArn", "GenesysCredentialsSecret"}
        elif owner == "DataActionFunctionRole":
            assert targets == {"ExternalApiTokenSecretArn"}
        else:
            pytest.fail(f"{owner} may read secrets: {st.body}")
    assert any(st.owner.startswith("ProcessFunctionRole") for st in sm_statements)


def test_created_secret_is_conditional_on_no_existing_arn():
    secret = RES["GenesysCredentialsSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert T["Conditions"][secret["Condition"]] == {"Fn::Equals": [{"Ref": "GenesysCredentialsSecretArn"}, ""]}
    assert {"GenesysClientId", "GenesysClientSecret"} <= no_echo_params()


def test_genesys_role_trusts_only_the_genesys_account_with_the_org_id():
    role = RES["GenesysDataActionInvokeRole"]
    assert role["Type"] == "AWS::IAM::Role"
    (stmt,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Effect"] == "Allow"
    assert as_list(stmt["Action"]) == ["sts:AssumeRole"]
    assert stmt["Principal"] == {"AWS": GENESYS_ACCOUNT_ROOT} or stmt["Principal"] == {"AWS": [GENESYS_ACCOUNT_ROOT]}
    assert stmt["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "GenesysOrgId"}}}
    statements = [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert len(statements) == 1
    assert as_list(statements[0]["Action"]) == ["lambda:InvokeFunction"]
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["DataActionFunction", "Arn"]}


def test_pipeline_permissions_are_scoped():
    by_owner: dict[str, list] = {}
    for st in iam_statements(CFN):
        by_owner.setdefault(st.owner.split("/")[0], []).append(st)
    fanout_states = [st for st in by_owner["FanoutFunctionRole"] if any(a.startswith("states:") for a in st.actions)]
    assert len(fanout_states) == 1 and fanout_states[0].actions == ["states:StartExecution"]
    assert refs_in(fanout_states[0].resources) == {"PipelineStateMachine"}
    (save,) = by_owner["SaveFunctionRole"]
    assert save.actions == ["dynamodb:UpdateItem"] and refs_in(save.resources) == {"ConversationsTable"}
    assert "ValidateFunctionRole" not in by_owner, "validate needs no permissions beyond its logs"
    sm_lambda = [st for st in by_owner["PipelineStateMachineRole"] if "lambda:InvokeFunction" in st.actions]
    assert {n for st in sm_lambda for n in refs_in(st.resources)} == {"ValidateFunction", "ProcessFunction", "SaveFunction"}
    sm_sqs = [st for st in by_owner["PipelineStateMachineRole"] if any(a.startswith("sqs:") for a in st.actions)]
    assert {n for st in sm_sqs for n in refs_in(st.resources)} == {"DeadLetterQueue"}


def test_queue_policies_admit_only_the_genesys_rule():
    for lid, res in CFN["Resources"].items():
        if res["Type"] != "AWS::SQS::QueuePolicy":
            continue
        for st in res["Properties"]["PolicyDocument"]["Statement"]:
            assert st["Principal"] == {"Service": "events.amazonaws.com"}, lid
            assert st["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["GenesysEventRule", "Arn"]}}}, lid


def test_samconfig_deploys_with_iam_capability():
    cfg = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    deploy = cfg["default"]["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in as_list(deploy["capabilities"])
    assert deploy["resolve_s3"] is True
    overrides = deploy["parameter_overrides"]
    text = " ".join(as_list(overrides))
    assert "GenesysClientSecret" not in text, "never put the client secret in samconfig.toml"
    required = {n for n, p in PARAMS.items() if "Default" not in p}
    assert all(n in text for n in required), f"samconfig.toml lacks placeholders for {required}"
