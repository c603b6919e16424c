"""The local stack: the pipeline of template.yaml on loopback, as a context manager.

    with LocalStack("demo") as stack:
        stack.invoke("fanout", event)

What runs (ports are chosen free at start; see local/README.md):

* the Genesys Cloud stand-in and the upstream (customer API) stand-in, in threads of this process;
* the bridge (Step Functions' Lambda integration), in a thread of this process;
* a moto server (Step Functions with real execution, DynamoDB, SQS), started with ``MOTO_PORT`` = the bridge's port
  so that moto's Task states invoke Lambda through the bridge;
* ``cargo lambda watch`` serving the five workspace binaries with one env file built from template.yaml.

Provisioning follows template.yaml: the DynamoDB table (key schema and billing mode), every SQS queue whose
condition holds, the state machine from state_machine.asl.json with its DefinitionSubstitutions, and each function's
environment variables (resolved against local parameter values). Secrets Manager ARNs are replaced by plain
variables (GENESYS_CLIENT_ID/SECRET, EXTERNAL_API_TOKEN); GENESYS_LOGIN_URL/GENESYS_API_URL point at the stand-in
unless real Genesys credentials are given.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

from bridge import Bridge
from genesys_standin import GenesysStandIn
from httpkit import request_json
from procs import ManagedProcess, free_port, port_open
from sam_template import ACCOUNT_ID, NO_VALUE, REGION, Physical, Resolver, SamTemplate
from upstream_standin import UpstreamStandIn

LOG = logging.getLogger("local.stack")
REPO = Path(__file__).resolve().parents[1]
RUN_ROOT = REPO / "local" / ".run"
STACK_NAME = "gcx-local"
ORG_ID = "f5daa06d-68bd-4488-970b-a992f61a0f6e"
UPSTREAM_TOKEN = "local-upstream-token"
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local", "region_name": REGION}
# Variables that name a Secrets Manager secret in AWS; locally the plain variables stand in for them.
SECRET_VARIABLES = ("GENESYS_CREDENTIALS_SECRET_ARN", "EXTERNAL_API_TOKEN_SECRET_ARN")
REAL_GENESYS_VARIABLES = ("GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_ENV")
INHERITED_PREFIXES_DROPPED = ("AWS_", "GENESYS_", "EXTERNAL_API_")
# Harmless first events: each function starts (and compiles if needed) without side effects.
WARM_EVENTS = {"data-action": {"customer_id": "", "locale": "en-US"}, "fanout": [], "validate": {},
               "process": {}, "save": {}}
STARTUP_ERRORS = ("Config.Invalid",)
WARM_TIMEOUT = 900.0  # a first call may compile the binary, behind other builds holding cargo's lock
FUNCTION_EXITED = "ERROR command exited"  # cargo lambda watch's log line when a function process ends


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ignores SIGINT/SIGTERM for the duration (main thread only), so a second Ctrl-C cannot cut a cleanup short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class StackError(RuntimeError):
    """The local stack could not start or a part of it misbehaved."""


@dataclass
class Invocation:
    """One synchronous invoke through cargo lambda watch."""

    function: str
    status: int
    payload: Any
    seconds: float

    @property
    def error_type(self) -> str | None:
        """The function's errorType when the invocation failed."""
        if self.status == 200:
            return None
        if isinstance(self.payload, dict) and self.payload.get("errorType"):
            return str(self.payload["errorType"])
        return f"HTTP {self.status}"

    @property
    def error_message(self) -> str:
        """The function's errorMessage (or the raw body) when the invocation failed."""
        if isinstance(self.payload, dict):
            return str(self.payload.get("errorMessage", ""))
        return str(self.payload)[:300]


def function_arn(name: str) -> str:
    """The local ARN of a function (the binary name is the function name)."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def real_genesys_from_env() -> dict[str, str] | None:
    """GENESYS_CLIENT_ID/SECRET/ENV from the environment when all three are set, else None."""
    values = {name: os.environ.get(name, "").strip() for name in REAL_GENESYS_VARIABLES}
    return values if all(values.values()) else None


class LocalStack:
    """Starts, provisions and stops the local stack; reusable by the demo and the tests."""

    def __init__(self, name: str = "demo", *, repo: Path = REPO, real_genesys: dict[str, str] | None = None,
                 conversations: dict[str, Any] | None = None, concurrency: int = 1,
                 on_status: Callable[[str], None] | None = None, env_overrides: dict[str, str] | None = None,
                 aws_proxy: Any = None):
        """`env_overrides` replace variables of functions.env (e.g. ``GENESYS_TIMEOUT``); `aws_proxy` (e.g. a
        `fault_proxy.FaultProxy`: ``start(moto_url)``, ``url``, ``stop()``) is started in front of moto and becomes
        the functions' AWS_ENDPOINT_URL, while the bridge and `client()` keep talking to moto directly."""
        self.name = name
        self.repo = repo
        self.real_genesys = real_genesys
        self.conversations = conversations
        self.concurrency = concurrency
        self.on_status = on_status or (lambda message: LOG.info("%s", message))
        self.run_dir = RUN_ROOT / name
        self.template = SamTemplate(repo / "template.yaml", STACK_NAME)
        self.genesys: GenesysStandIn | None = None
        self.upstream: UpstreamStandIn | None = None
        self.bridge: Bridge | None = None
        self.processes: list[ManagedProcess] = []
        self.physical: dict[str, Physical] = {}
        self.function_env: dict[str, str] = {}
        self.env_overrides = dict(env_overrides or {})
        self.aws_proxy = aws_proxy
        self._stopped = True

    # -- lifecycle -------------------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Starts every part, provisions the resources and warms the functions; stops everything on failure."""
        started = time.monotonic()
        self._stopped = False
        atexit.register(self.stop)
        try:
            self._prepare_run_dir()
            self._start_standins()
            self._start_moto_and_bridge()
            if self.aws_proxy is not None:
                self.aws_proxy.start(self.moto_url)
                self.on_status(f"AWS calls of the functions go through {self.aws_proxy.url} (fault proxy)")
            self._provision()
            self._write_env_file()
            self._start_functions()
            self._warm_functions()
            self.on_status(f"local stack ready in {time.monotonic() - started:.1f} s")
        except BaseException:
            try:
                self.stop()
            except StackError as err:  # keep the error that stopped the start; report this one too
                self.on_status(f"while stopping after a failed start: {err}")
            raise
        return self

    def stop(self) -> None:
        """Stops everything this stack started (idempotent); raises if a process survived."""
        if self._stopped:
            return
        self._stopped = True
        leftovers: list[int] = []
        with interrupts_deferred():
            for process in reversed(self.processes):
                process.stop()
                leftovers += process.leftovers()
            for server in (self.aws_proxy, self.bridge, self.upstream, self.genesys):
                if server:
                    server.stop()
            if self.real_genesys:  # it holds the real client secret
                (self.run_dir / "functions.env").unlink(missing_ok=True)
        atexit.unregister(self.stop)
        if leftovers:
            raise StackError(f"processes survived the stop: {leftovers}")

    def _prepare_run_dir(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)

    # -- stand-ins, moto, bridge -----------------------------------------------------------------------------

    def _start_standins(self) -> None:
        timeout = float(self.template.parameter_defaults().get("ExternalApiTimeout", "5"))
        self.upstream = UpstreamStandIn(token=UPSTREAM_TOKEN, slow_seconds=timeout + 1).start()
        if not self.real_genesys:
            self.genesys = GenesysStandIn(conversations=self.conversations).start()

    def _start_moto_and_bridge(self) -> None:
        moto_port, lambda_port = free_port(), free_port()
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self.lambda_url = f"http://127.0.0.1:{lambda_port}"
        self.bridge = Bridge(self.moto_url, self.lambda_url).start()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["MOTO_PORT"] = str(self.bridge.port)
        self.on_status(f"starting moto on {self.moto_url} (Lambda calls go to the bridge on :{self.bridge.port})")
        self.processes.append(ManagedProcess(
            "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
            self.run_dir / "moto.log", env=env))
        self._wait_until(lambda: self._moto_ready(), 30, "moto server", self.processes[-1])
        status, _ = request_json("POST", f"{self.moto_url}/moto-api/config",
                                 {"stepfunctions": {"execute_state_machine": True}})
        if status not in (200, 201):
            raise StackError(f"moto refused the Step Functions execution config (HTTP {status})")

    def _moto_ready(self) -> bool:
        try:
            return request_json("GET", f"{self.moto_url}/moto-api/data.json", timeout=2)[0] == 200
        except OSError:
            return False

    def _wait_until(self, ready: Callable[[], bool], seconds: float, what: str,
                    process: ManagedProcess | None = None) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            if process and not process.running():
                raise StackError(f"{what} exited early:\n{process.log_tail()}")
            if time.monotonic() > deadline:
                tail = f":\n{process.log_tail()}" if process else ""
                raise StackError(f"{what} not ready after {seconds:.0f} s{tail}")
            time.sleep(0.1)

    # -- AWS clients -----------------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client for moto (dummy credentials, us-east-1)."""
        return boto3.client(service, endpoint_url=self.moto_url, config=Config(retries={"max_attempts": 2}),
                            **CREDENTIALS)

    # -- provisioning ----------------------------------------------------------------------------------------

    def parameters(self) -> dict[str, str]:
        """The template parameters as the local stack sets them."""
        params = self.template.parameter_defaults()
        params.update({"GenesysOrgId": ORG_ID, "GenesysEventBusName": f"aws.partner/genesys.com/cloud/{ORG_ID}/local",
                       "ExternalApiUrl": self.upstream.url if self.upstream else ""})
        if self.real_genesys:
            params["GenesysEnvironment"] = self.real_genesys["GENESYS_ENV"]
        else:
            params.update({"GenesysClientId": self.genesys.client_id,
                           "GenesysClientSecret": self.genesys.client_secret})
        return params

    def _provision(self) -> None:
        resolver = Resolver(self.template, self.parameters(), self.physical)
        for logical_id, binary in self.template.functions().items():
            self.physical[logical_id] = Physical(binary, {"Arn": function_arn(binary)})
        self._create_table(resolver)
        for logical_id in self.template.queues(resolver):
            self._create_queue(logical_id)
        self._create_state_machine(resolver)

    def _create_table(self, resolver: Resolver) -> None:
        logical_id, props = self.template.table()
        props = resolver.resolve(props)
        name = f"{STACK_NAME}-{logical_id}"
        self.table_name = name
        self.table_key = props["KeySchema"][0]["AttributeName"]
        self.client("dynamodb").create_table(
            TableName=name, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"))
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        self.physical[logical_id] = Physical(name, {"Arn": arn})

    def _create_queue(self, logical_id: str) -> None:
        sqs = self.client("sqs")
        name = f"{STACK_NAME}-{logical_id}"
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.physical[logical_id] = Physical(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _create_state_machine(self, resolver: Resolver) -> None:
        logical_id, props = self.template.state_machine()
        substitutions = {k: str(resolver.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        definition = (self.repo / props["DefinitionUri"]).read_text()
        for key, value in substitutions.items():
            definition = definition.replace("${" + key + "}", value)
        unresolved = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition)))
        if unresolved:
            raise StackError(f"{props['DefinitionUri']}: no DefinitionSubstitutions for {unresolved}")
        name = f"{STACK_NAME}-{logical_id}"
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, type=str(resolver.resolve(props.get("Type", "STANDARD"))),
            roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-{logical_id}Role")["stateMachineArn"]
        self.state_machine_arn = arn
        self.physical[logical_id] = Physical(arn, {"Arn": arn, "Name": name})

    def queue_url(self, logical_id: str) -> str:
        """The local URL of the template's queue `logical_id`."""
        return self.physical[logical_id].ref

    # -- functions -------------------------------------------------------------------------------------------

    def _template_environment(self) -> dict[str, str]:
        resolver = Resolver(self.template, self.parameters(), self.physical)
        env: dict[str, str] = {}
        for logical_id in self.template.functions():
            for name, value in self.template.function_environment(logical_id).items():
                if name in SECRET_VARIABLES:
                    continue
                resolved = resolver.resolve(value)
                if resolved is not NO_VALUE:
                    env[name] = str(resolved)
        logging_config = self.template.doc.get("Globals", {}).get("Function", {}).get("LoggingConfig", {})
        env["AWS_LAMBDA_LOG_FORMAT"] = str(logging_config.get("LogFormat", "Text"))
        env["AWS_LAMBDA_LOG_LEVEL"] = str(logging_config.get("ApplicationLogLevel", "INFO"))
        return env

    def _local_environment(self) -> dict[str, str]:
        endpoint = self.aws_proxy.url if self.aws_proxy is not None else self.moto_url
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "EXTERNAL_API_TOKEN": UPSTREAM_TOKEN}
        if self.real_genesys:
            env.update(self.real_genesys)
        else:
            env.update({"GENESYS_LOGIN_URL": self.genesys.url, "GENESYS_API_URL": self.genesys.url,
                        "GENESYS_CLIENT_ID": self.genesys.client_id,
                        "GENESYS_CLIENT_SECRET": self.genesys.client_secret})
        return env

    def _write_env_file(self) -> None:
        self.function_env = {**self._template_environment(), **self._local_environment(), **self.env_overrides}
        self.env_file = self.run_dir / "functions.env"
        descriptor = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as env_file:
            env_file.writelines(f"{k}={v}\n" for k, v in sorted(self.function_env.items()))

    def _start_functions(self) -> None:
        port = int(self.lambda_url.rsplit(":", 1)[1])
        venv_bin = str(Path(sys.executable).parent)
        # The functions see the env file only: nothing of this shell's AWS, Genesys or upstream settings.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(INHERITED_PREFIXES_DROPPED) and k not in self.function_env}
        env["PATH"] = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        self.on_status(f"starting cargo lambda watch on {self.lambda_url}")
        self.processes.append(ManagedProcess(
            "cargo lambda watch",
            ["cargo", "lambda", "watch", "--ignore-changes", "--invoke-address", "127.0.0.1", "--invoke-port",
             str(port), "--env-file", str(self.env_file), "--concurrency", str(self.concurrency)],
            self.run_dir / "cargo-lambda-watch.log", env=env, cwd=self.repo))
        self._wait_until(lambda: port_open(port), 120, "cargo lambda watch", self.processes[-1])

    def _warm_functions(self) -> None:
        for function, event in WARM_EVENTS.items():
            self.on_status(f"warming {function} (the first call may compile it)")
            result = self._invoke_watching_log(function, event, WARM_TIMEOUT)
            if result.error_type in STARTUP_ERRORS:
                raise StackError(f"{function} did not start: {result.error_type}: {result.error_message}")
            if result.status not in (200, 500):
                raise StackError(f"{function}: HTTP {result.status} from cargo lambda watch: {result.payload}")

    def _invoke_watching_log(self, function: str, event: Any, timeout: float) -> Invocation:
        """Invokes `function`, failing fast when cargo lambda watch reports that the function process exited
        (a failed build or an init error: the invoke itself would hang until `timeout`)."""
        watch = self.processes[-1]
        offset = watch.log_path.stat().st_size
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["invocation"] = self.invoke(function, event, timeout)
            except OSError as err:
                outcome["error"] = err

        caller = threading.Thread(target=call, name=f"warm-{function}", daemon=True)
        caller.start()
        while caller.is_alive():
            caller.join(0.25)
            with open(watch.log_path, "rb") as log:
                log.seek(offset)
                fresh = log.read().decode(errors="replace")
            if FUNCTION_EXITED in fresh or not watch.running():
                raise StackError(f"{function} exited while starting (build or init failure):\n{watch.log_tail(25)}")
        if "error" in outcome:
            raise StackError(f"invoking {function} failed: {outcome['error']}")
        return outcome["invocation"]

    def invoke(self, function: str, payload: Any, timeout: float = 120) -> Invocation:
        """Invokes `function` synchronously through cargo lambda watch's invoke API."""
        url = f"{self.lambda_url}/2015-03-31/functions/{function}/invocations"
        started = time.monotonic()
        status, parsed = request_json("POST", url, payload, timeout)
        return Invocation(function, status, parsed, time.monotonic() - started)

    # -- state between tests ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empties the table and the queues and resets the stand-ins (executions stay: moto cannot delete them)."""
        ddb = self.client("dynamodb")
        for item in self.scan():
            ddb.delete_item(TableName=self.table_name, Key={self.table_key: {"S": item[self.table_key]}})
        for logical_id in self.template.queues(Resolver(self.template, self.parameters(), self.physical)):
            self.drain(logical_id)
        if self.genesys:
            self.genesys.reset()
        if self.upstream:
            self.upstream.reset()

    # -- reading state ---------------------------------------------------------------------------------------

    def scan(self) -> list[dict[str, Any]]:
        """Every item of the table, as plain Python values."""
        deserializer = TypeDeserializer()
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table_name)
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]

    def peek_messages(self, logical_id: str) -> list[dict[str, Any]]:
        """Every message of a queue, left in the queue (received, then made visible again)."""
        sqs = self.client("sqs")
        url = self.queue_url(logical_id)
        messages: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                        MessageAttributeNames=["All"]).get("Messages", [])
            if not batch:
                break
            messages.extend(batch)
        for message in messages:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return messages

    def drain(self, logical_id: str) -> int:
        """Deletes every message of a queue (PurgeQueue allows one call a minute); returns how many."""
        sqs = self.client("sqs")
        url = self.queue_url(logical_id)
        deleted = 0
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            if not batch:
                return deleted
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                            for i, m in enumerate(batch)])
            deleted += len(batch)

    def executions(self) -> list[dict[str, Any]]:
        """DescribeExecution of every execution of the state machine, oldest first."""
        sfn = self.client("stepfunctions")
        listed = [e for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn)
                  for e in page["executions"]]
        described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
        return sorted(described, key=lambda d: d["startDate"])

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's event history."""
        sfn = self.client("stepfunctions")
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [event for page in pages for event in page["events"]]

    def describe(self) -> list[tuple[str, str, str]]:
        """(part, address, AWS resource it stands for) for the summary and the README."""
        rows = [("moto server", self.moto_url, "Step Functions + DynamoDB + SQS"),
                ("cargo lambda watch", self.lambda_url, "Lambda (5 functions)"),
                ("bridge", f"http://127.0.0.1:{self.bridge.port}", "Step Functions' Lambda integration")]
        if self.aws_proxy is not None:
            rows.append(("fault proxy", self.aws_proxy.url, "the functions' AWS_ENDPOINT_URL (faults, then moto)"))
        if self.genesys:
            rows.append(("Genesys stand-in", self.genesys.url, "login.<domain> + api.<domain>"))
        else:
            rows.append(("Genesys Cloud", self.real_genesys["GENESYS_ENV"], "real API (your credentials)"))
        rows.append(("upstream stand-in", self.upstream.url, "data action's EXTERNAL_API_URL"))
        return rows
