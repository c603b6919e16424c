"""template.yaml as the local stack and the template tests read it: cfn-lint's own loader (the short-form
intrinsics become their long form: ``{"Ref": ...}``, ``{"Fn::GetAtt": [resource, attribute]}``), plus an
evaluator of the intrinsics the local stack needs, against parameter values and local physical resources.

One loader for every reader (local/, tests/template/): the forms cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
NO_VALUE = object()
SUB_RE = re.compile(r"\$\{([^}!][^}]*)\}")


def load(path: Path) -> dict[str, Any]:
    """The template as plain dicts and lists, intrinsics in long form; fails with cfn-lint's messages."""
    doc, problems = decode(str(path))
    if problems or doc is None:
        raise ValueError(f"{path}: " + "; ".join(str(p) for p in problems))
    return plain(doc)


def plain(node: Any) -> Any:
    """cfn-lint's dict/str node classes as builtin dicts, lists and strings."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


@dataclass(frozen=True)
class Physical:
    """What a resource resolves to locally: ``!Ref`` and each ``!GetAtt`` attribute."""

    ref: str
    attributes: dict[str, str]


class Resolver:
    """Evaluates intrinsics with parameter values, conditions and local physical resources."""

    def __init__(self, template: Template, parameters: dict[str, str], physical: dict[str, Physical]):
        self.template = template
        self.parameters = parameters
        self.physical = physical

    def condition(self, name: str) -> bool:
        """The value of the template condition `name`."""
        return bool(self.resolve(self.template.doc.get("Conditions", {})[name]))

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic evaluated; `NO_VALUE` for ``AWS::NoValue``."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = self._handlers().get(key)
            if handler:
                return handler(arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref,
            "Fn::GetAtt": lambda arg: self._get_att(*(arg if isinstance(arg, list) else arg.split(".", 1))),
            "Fn::Sub": self._sub,
            "Fn::If": lambda arg: self.resolve(arg[1] if self.condition(arg[0]) else arg[2]),
            "Fn::Equals": lambda arg: str(self.resolve(arg[0])) == str(self.resolve(arg[1])),
            "Fn::Not": lambda arg: not self.resolve(arg[0]),
            "Fn::And": lambda arg: all(self.resolve(a) for a in arg),
            "Fn::Or": lambda arg: any(self.resolve(a) for a in arg),
            "Condition": self.condition,
            "Fn::Join": lambda arg: arg[0].join(str(v) for v in self.resolve(arg[1])),
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            # Rules only; a CommaDelimitedList parameter is held as its text here.
            "Fn::EachMemberEquals": lambda arg: all(
                member == str(self.resolve(arg[1])) for member in str(self.resolve(arg[0])).split(",")),
        }

    def _ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": self.template.stack_name,
                  "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.template.stack_name}/"
                                  "00000000-0000-4000-8000-000000000000",
                  "AWS::Partition": "aws", "AWS::NoValue": NO_VALUE, "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name].ref
        raise KeyError(f"template.yaml: nothing local for !Ref {name}")

    def _get_att(self, resource: str, attribute: str) -> str:
        try:
            return self.physical[resource].attributes[attribute]
        except KeyError:
            raise KeyError(f"template.yaml: nothing local for !GetAtt {resource}.{attribute}") from None

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._get_att(*name.split(".", 1))
            return str(self._ref(name))

        return SUB_RE.sub(replace, text)


@dataclass(frozen=True)
class EventSource:
    """An SQS event source mapping of the template, resolved."""

    logical_id: str
    function: str  # the binary
    queue: str  # the queue's logical id
    batch_size: int
    window: float
    max_concurrency: int
    report_failures: bool


class Template:
    """The parts of template.yaml the local stack and the tests need."""

    def __init__(self, path: Path, stack_name: str = "gcx-local"):
        self.path = path
        self.stack_name = stack_name
        self.doc: dict[str, Any] = load(path)
        self.resources: dict[str, dict[str, Any]] = self.doc["Resources"]

    def parameter_defaults(self) -> dict[str, str]:
        """Every parameter's Default, as a string (as CloudFormation passes them)."""
        params = self.doc.get("Parameters", {})
        return {name: str(spec["Default"]) for name, spec in params.items() if "Default" in spec}

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        """Resources of the given types, by logical id."""
        return {lid: res for lid, res in self.resources.items() if res.get("Type") in types}

    def functions(self) -> dict[str, str]:
        """``{logical id: cargo binary name}`` of every Serverless function."""
        return {lid: res.get("Metadata", {}).get("BuildProperties", {}).get("Binary", lid)
                for lid, res in self.of_type("AWS::Serverless::Function").items()}

    def function_property(self, logical_id: str, name: str, default: Any = None) -> Any:
        """A function property, falling back to Globals.Function."""
        props = self.resources[logical_id].get("Properties", {})
        if name in props:
            return props[name]
        return self.doc.get("Globals", {}).get("Function", {}).get(name, default)

    def function_environment(self, logical_id: str) -> dict[str, Any]:
        """Globals' environment variables overlaid with the function's own (unresolved)."""
        env = dict(self.doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
        props = self.resources[logical_id].get("Properties", {})
        env.update(props.get("Environment", {}).get("Variables", {}))
        return env

    def table(self) -> tuple[str, dict[str, Any]]:
        """The one DynamoDB table: (logical id, properties)."""
        tables = self.of_type("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
        if len(tables) != 1:
            raise ValueError(f"template.yaml: expected one DynamoDB table, found {sorted(tables)}")
        (lid, res), = tables.items()
        return lid, res.get("Properties", {})

    def state_machine(self) -> tuple[str, dict[str, Any]]:
        """The one state machine: (logical id, properties)."""
        machines = self.of_type("AWS::Serverless::StateMachine")
        if len(machines) != 1:
            raise ValueError(f"template.yaml: expected one state machine, found {sorted(machines)}")
        (lid, res), = machines.items()
        return lid, res.get("Properties", {})

    def exists(self, resource: dict[str, Any], resolver: Resolver) -> bool:
        """Whether a resource's Condition holds (or it has none)."""
        return "Condition" not in resource or resolver.condition(resource["Condition"])

    def queues(self, resolver: Resolver) -> dict[str, dict[str, Any]]:
        """The SQS queues that exist under the parameter values: logical id -> properties (unresolved)."""
        return {lid: res.get("Properties", {}) for lid, res in self.of_type("AWS::SQS::Queue").items()
                if self.exists(res, resolver)}

    def event_sources(self, resolver: Resolver) -> list[EventSource]:
        """The SQS event source mappings that exist under the parameter values."""
        binaries = self.functions()
        found = []
        for lid, res in self.of_type("AWS::Lambda::EventSourceMapping").items():
            if not self.exists(res, resolver):
                continue
            props = res.get("Properties", {})
            function = props["FunctionName"]["Ref"]
            queue = props["EventSourceArn"]["Fn::GetAtt"][0]
            window = resolver.resolve(props.get("MaximumBatchingWindowInSeconds", 0))
            found.append(EventSource(
                logical_id=lid, function=binaries[function], queue=queue,
                batch_size=int(resolver.resolve(props.get("BatchSize", 10))),
                window=0.0 if window is NO_VALUE else float(window),
                max_concurrency=int(resolver.resolve(props.get("ScalingConfig", {}).get("MaximumConcurrency", 1000))),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])))
        return found

    def on_failure_destination(self, function_logical_id: str) -> tuple[str | None, int]:
        """(logical id of the queue in the function's async on-failure destination, MaximumRetryAttempts)."""
        config = self.resources[function_logical_id].get("Properties", {}).get("EventInvokeConfig", {})
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = destination["Fn::GetAtt"][0] if isinstance(destination, dict) and "Fn::GetAtt" in destination \
            else None
        return queue, int(config.get("MaximumRetryAttempts", 2))

    def rule_target(self, resolver: Resolver) -> str:
        """The logical id the Genesys event rule delivers to (the buffer queue or the fanout function)."""
        (rule,) = self.of_type("AWS::Events::Rule").values()
        (target,) = resolver.resolve(rule["Properties"]["Targets"])
        return str(target["Id"])
