"""The local stack: the whole of template.yaml on loopback, as a context manager.

    with LocalStack("demo") as stack:
        stack.deliver(events)          # as the Genesys EventBridge rule does (buffer queue or fanout)
        stack.wait_idle()

What runs (ports are chosen free at start; see local/README.md):

* the Genesys Cloud stand-in (unless another Genesys is given) and the upstream (customer API) stand-in, in threads;
* the bridge (the Lambda service: Step Functions' Lambda integration, the event source mappings and the rule all
  invoke through it), in a thread;
* the AWS proxy in front of moto (`fault_proxy.FaultProxy`, no faults unless asked): the functions' AWS_ENDPOINT_URL,
  counting every AWS call they make;
* a moto server (Step Functions with real execution, DynamoDB, SQS), started with ``MOTO_PORT`` = the bridge's port;
* ``cargo lambda watch`` serving the workspace binaries with one env file built from template.yaml;
* the event source mappings of the template (`esm.EventSourceMapping`): buffer queue -> fanout, enrichment queue
  -> enrich.

Provisioning follows template.yaml: the DynamoDB table, every SQS queue whose condition holds (with its visibility
timeout, delay and redrive policy), the state machine from state_machine.asl.json with its DefinitionSubstitutions,
and each function's environment (resolved against local parameter values). Secrets Manager ARNs are replaced by plain
variables (GENESYS_CLIENT_ID/SECRET, EXTERNAL_API_TOKEN).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import json
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
from cfn import ACCOUNT_ID, NO_VALUE, REGION, Physical, Resolver, Template
from esm import EventSourceMapping, dump
from fault_proxy import FaultProxy
from genesys_standin import GenesysStandIn
from httpkit import request_json
from procs import ManagedProcess, free_port, port_open
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
INHERITED_PREFIXES_DROPPED = ("AWS_", "GENESYS_", "EXTERNAL_API_", "ENRICH_", "BATCH_")
# Variables of the caller's environment that reach the functions (replay documents them).
PASSED_THROUGH_PREFIXES = ("GENESYS_", "BATCH_", "ENRICH_")
# Harmless first events: each function starts (and compiles if needed) without side effects.
WARM_EVENTS = {"data-action": {"customer_id": "", "locale": "en-US"}, "fanout": [], "validate": {},
               "process": {}, "save": {}, "enrich": {"requests": []}}
# Parameter values of the local stack where they differ from the template's defaults: shorter waits, so a run
# takes seconds, not minutes (local/README.md). Everything else is the template's default.
LOCAL_PARAMETERS = {"EnrichDelaySeconds": "2", "EnrichBatchWindowSeconds": "3", "FanoutBatchWindowSeconds": "2"}
# Environment of the functions where the local stack differs from their built-in defaults (shorter retries).
LOCAL_ENVIRONMENT = {"ENRICH_RETRY_SECONDS": "3"}
# Visibility timeouts are capped locally so that a failed batch comes back within a run (template: 360-720 s).
LOCAL_VISIBILITY_TIMEOUT = 10
# Instances per function in cargo lambda watch, and so the most concurrent invocations an event source runs.
LOCAL_CONCURRENCY = 2
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


def passed_through(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The GENESYS_*, BATCH_* and ENRICH_* variables of `environ` (default: this process's), for the functions."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items() if k.startswith(PASSED_THROUGH_PREFIXES) and v.strip()}


def external_genesys(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """Another Genesys than the built-in stand-in, when the environment names one: GENESYS_CLIENT_ID and
    GENESYS_CLIENT_SECRET with either GENESYS_LOGIN_URL + GENESYS_API_URL (another stand-in) or GENESYS_ENV (a
    real org). None otherwise."""
    env = passed_through(environ)
    if not (env.get("GENESYS_CLIENT_ID") and env.get("GENESYS_CLIENT_SECRET")):
        return None
    if env.get("GENESYS_LOGIN_URL") and env.get("GENESYS_API_URL"):
        return env
    if env.get("GENESYS_ENV"):
        return env
    return None


class LocalStack:
    """Starts, provisions and stops the local stack; reusable by the demo and the tests."""

    def __init__(self, name: str = "demo", *, repo: Path = REPO, genesys: dict[str, str] | None = None,
                 conversations: dict[str, Any] | None = None, concurrency: int = LOCAL_CONCURRENCY,
                 on_status: Callable[[str], None] | None = None, env_overrides: dict[str, str] | None = None,
                 parameters: dict[str, str] | None = None, aws_proxy: FaultProxy | None = None,
                 on_result: Callable[[str, list[dict], int, Any], None] | None = None):
        """`genesys`: another Genesys (`external_genesys()`), else the built-in stand-in with `conversations`.
        `env_overrides` replace variables of functions.env; `parameters` template parameter values; `aws_proxy`
        a configured `fault_proxy.FaultProxy` (default: one without faults); `on_result` is called with every
        event source mapping invocation's (function, messages, status, answer)."""
        self.name = name
        self.repo = repo
        self.external_genesys = genesys
        self.conversations = conversations
        self.concurrency = concurrency
        self.on_status = on_status or (lambda message: LOG.info("%s", message))
        self.run_dir = RUN_ROOT / name
        self.template = Template(repo / "template.yaml", STACK_NAME)
        self.genesys: GenesysStandIn | None = None
        self.upstream: UpstreamStandIn | None = None
        self.bridge: Bridge | None = None
        self.processes: list[ManagedProcess] = []
        self.physical: dict[str, Physical] = {}
        self.function_env: dict[str, str] = {}
        self.env_overrides = dict(env_overrides or {})
        self.parameter_overrides = dict(parameters or {})
        self.aws_proxy = aws_proxy or FaultProxy()
        self.on_result = on_result
        self.event_sources: list[EventSourceMapping] = []
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
            self.aws_proxy.start(self.moto_url)
            self.on_status(f"the functions' AWS calls go through {self.aws_proxy.url} (AWS proxy, counting)")
            self._provision()
            self._write_env_file()
            self._start_functions()
            self._warm_functions()
            self.bridge.reset()  # the warm-up invocations are not the run's
            self.aws_proxy.reset()
            self._start_event_sources()
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
            for source in self.event_sources:
                source.stop()
            for process in reversed(self.processes):
                process.stop()
                leftovers += process.leftovers()
            for server in (self.aws_proxy, self.bridge, self.upstream, self.genesys):
                if server:
                    server.stop()
            if self.external_genesys:  # it holds a client secret
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
        if not self.external_genesys:
            self.genesys = GenesysStandIn(conversations=self.conversations,
                                          log_path=self.run_dir / "genesys-requests.jsonl").start()

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
        params.update(LOCAL_PARAMETERS)
        params.update({"GenesysOrgId": ORG_ID, "GenesysEventBusName": f"aws.partner/genesys.com/cloud/{ORG_ID}/local",
                       "ExternalApiUrl": self.upstream.url if self.upstream else ""})
        if self.genesys:
            params.update({"GenesysClientId": self.genesys.client_id,
                           "GenesysClientSecret": self.genesys.client_secret})
        else:
            params.update({"GenesysClientId": "external", "GenesysClientSecret": "external"})
        params.update(self.parameter_overrides)
        return params

    def resolver(self) -> Resolver:
        """Evaluates the template's intrinsics locally."""
        return Resolver(self.template, self.parameters(), self.physical)

    def _provision(self) -> None:
        for logical_id, binary in self.template.functions().items():
            self.physical[logical_id] = Physical(binary, {"Arn": function_arn(binary)})
        self._create_table(self.resolver())
        queues = self.template.queues(self.resolver())
        # Dead-letter targets first: a redrive policy names their ARN.
        for logical_id in sorted(queues, key=lambda lid: "RedrivePolicy" in queues[lid]):
            self._create_queue(logical_id, queues[logical_id])
        self._create_state_machine(self.resolver())

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

    def _create_queue(self, logical_id: str, props: dict[str, Any]) -> None:
        props = self.resolver().resolve(props)
        attributes = {"MessageRetentionPeriod": str(props.get("MessageRetentionPeriod", 345600)),
                      "VisibilityTimeout": str(min(int(props.get("VisibilityTimeout", 30)), LOCAL_VISIBILITY_TIMEOUT)),
                      "DelaySeconds": str(props.get("DelaySeconds", 0))}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        sqs = self.client("sqs")
        name = f"{STACK_NAME}-{logical_id}"
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
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

    def queues(self) -> list[str]:
        """Logical ids of the queues of this stack."""
        return list(self.template.queues(self.resolver()))

    def queue_url(self, logical_id: str) -> str:
        """The local URL of the template's queue `logical_id`."""
        return self.physical[logical_id].ref

    # -- functions -------------------------------------------------------------------------------------------

    def _template_environment(self) -> dict[str, str]:
        resolver = self.resolver()
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
        env = {"AWS_ENDPOINT_URL": self.aws_proxy.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "EXTERNAL_API_TOKEN": UPSTREAM_TOKEN, "EXTERNAL_API_ALLOW_HTTP": "true", **LOCAL_ENVIRONMENT}
        if self.external_genesys:
            env.update(self.external_genesys)
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
             str(port), "--env-file", str(self.env_file), "--concurrency", str(self.concurrency),
             "--timeout", "900"],
            self.run_dir / "cargo-lambda-watch.log", env=env, cwd=self.repo))
        self._wait_until(lambda: port_open(port), 120, "cargo lambda watch", self.processes[-1])

    def _warm_functions(self) -> None:
        for function, event in WARM_EVENTS.items():
            self.on_status(f"warming {function} (the first call may compile it)")
            try:
                result = self._invoke_watching_log(function, event, WARM_TIMEOUT)
            except StackError as first:
                # cargo lambda watch sometimes starts a second instance of a function that is still compiling,
                # and that one can die on a Runtime API answer without a request id (lambda_runtime panics).
                # A function that really cannot start fails the second try the same way.
                self.on_status(f"{function} exited while starting; trying once more ({str(first).splitlines()[0]})")
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
        """Invokes `function` synchronously, through the bridge (the local Lambda service)."""
        started = time.monotonic()
        status, parsed = self.bridge.call(function, payload, timeout)
        return Invocation(function, status, parsed, time.monotonic() - started)

    def _start_event_sources(self) -> None:
        sqs = self.client("sqs")
        for source in self.template.event_sources(self.resolver()):
            queue = self.physical[source.queue]
            mapping = EventSourceMapping(
                sqs=sqs, invoke=lambda f, e: self.bridge.call(f, e), function=source.function,
                queue_url=queue.ref, queue_arn=queue.attributes["Arn"], batch_size=source.batch_size,
                window=source.window, max_concurrency=min(source.max_concurrency, self.concurrency),
                report_failures=source.report_failures, on_result=self.on_result)
            self.event_sources.append(mapping.start())
            self.on_status(f"event source {source.logical_id}: {source.queue} -> {source.function} "
                           f"(batch {source.batch_size}, window {source.window:g} s, "
                           f"concurrency {mapping.max_concurrency})")

    def rule_target(self) -> str:
        """Where the Genesys event rule delivers: ``FanoutBufferQueue`` (sqs mode) or ``FanoutFunction``."""
        return self.template.rule_target(self.resolver())

    def send_to_buffer(self, event: Any) -> None:
        """One event to the buffer queue, as the EventBridge rule's SQS target sends it (one message per event)."""
        self.client("sqs").send_message(QueueUrl=self.queue_url("FanoutBufferQueue"), MessageBody=dump(event))

    def queue_depth(self, logical_id: str) -> int:
        """Messages in a queue: visible, in flight and delayed."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.queue_url(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return sum(int(v) for v in attributes.values())

    def running_executions(self) -> int:
        """Executions of the state machine still RUNNING."""
        sfn = self.client("stepfunctions")
        pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn,
                                                             statusFilter="RUNNING")
        return sum(len(page["executions"]) for page in pages)

    def function_memory(self) -> dict[str, int]:
        """MemorySize (MB) of every function, by binary name."""
        return {binary: int(self.template.function_property(lid, "MemorySize", 128))
                for lid, binary in self.template.functions().items()}

    def function_lines(self) -> list[dict[str, Any]]:
        """Every JSON line the functions printed (cargo lambda watch's log holds their stdout)."""
        lines = []
        path = self.run_dir / "cargo-lambda-watch.log"
        if not path.exists():
            return lines
        with open(path, encoding="utf-8", errors="replace") as log:
            for text in log:
                start = text.find("{")
                if start < 0:
                    continue
                try:
                    line = json.loads(text[start:])
                except ValueError:
                    continue
                if isinstance(line, dict):
                    lines.append(line)
        return lines

    def invocation_durations(self) -> dict[str, list[float]]:
        """Each function's invocation durations (ms), from its per-invocation log lines."""
        durations: dict[str, list[float]] = {}
        for line in self.function_lines():
            if line.get("message") == "invocation" and isinstance(line.get("durationMs"), int | float):
                durations.setdefault(str(line.get("function")), []).append(float(line["durationMs"]))
        return durations

    def function_log_bytes(self) -> int:
        """Bytes of JSON log lines the functions wrote (what CloudWatch Logs would ingest)."""
        return sum(len(json.dumps(line)) + 1 for line in self.function_lines())

    def idle(self, queues: tuple[str, ...] = ("FanoutBufferQueue", "EnrichmentQueue")) -> bool:
        """Nothing left to do: every event source idle, the work queues empty, no execution running."""
        if not all(source.idle() for source in self.event_sources):
            return False
        if any(self.queue_depth(q) for q in queues if q in self.physical):
            return False
        return self.running_executions() == 0

    # -- state between tests ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Empties the table and the queues and resets the stand-ins (executions stay: moto cannot delete them)."""
        ddb = self.client("dynamodb")
        for item in self.scan():
            ddb.delete_item(TableName=self.table_name, Key={self.table_key: {"S": item[self.table_key]}})
        for logical_id in self.queues():
            self.drain(logical_id)
        if self.genesys:
            self.genesys.reset()
        if self.upstream:
            self.upstream.reset()
        self.bridge.reset()
        self.aws_proxy.reset()
        for source in self.event_sources:
            source.counts.clear()

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
                ("cargo lambda watch", self.lambda_url, f"Lambda ({len(self.template.functions())} functions)"),
                ("bridge", f"http://127.0.0.1:{self.bridge.port}", "the Lambda service (invokes, counts)"),
                ("AWS proxy", self.aws_proxy.url, "the functions' AWS_ENDPOINT_URL (counts, optional faults)")]
        rows += [(f"event source {s.function}", s.queue_url.rsplit("/", 1)[-1], "Lambda's SQS event source mapping")
                 for s in self.event_sources]
        if self.genesys:
            rows.append(("Genesys stand-in", self.genesys.url, "login.<domain> + api.<domain>"))
        else:
            where = self.external_genesys.get("GENESYS_API_URL") or self.external_genesys.get("GENESYS_ENV", "")
            rows.append(("Genesys (yours)", where, "given by GENESYS_* variables"))
        rows.append(("upstream stand-in", self.upstream.url, "data action's EXTERNAL_API_URL"))
        return rows
