"""The cost model: what a run's measured counts cost per million events at list prices (docs/prices.json).

`measured` prices the counts a run measured (replay's report). `before` prices the design this project had before
batching, from the same run's event counts and its published per-event figures (docs/capacity.md): one execution
per event entering 4 states, 4 Lambda invocations (fanout + 3 Tasks), one Genesys request per enriched event.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES = Path(__file__).resolve().parents[1] / "docs" / "prices.json"


def prices() -> dict[str, Any]:
    """The price table and its date."""
    return json.loads(PRICES.read_text())


@dataclass
class Usage:
    """What a run used, in the units AWS bills."""

    events: int
    state_transitions: int
    lambda_requests: dict[str, int]
    lambda_gb_seconds: dict[str, float]
    sqs_requests: int
    dynamodb_write_units: float
    eventbridge_events: int
    log_bytes: int = 0


def cost(usage: Usage, table: dict[str, Any] | None = None) -> dict[str, Any]:
    """Dollars per million events by service, with the per-event inputs and the prices used."""
    p = table or prices()
    n = max(usage.events, 1)
    per_event = {
        "stateTransitions": usage.state_transitions / n,
        "lambdaRequests": sum(usage.lambda_requests.values()) / n,
        "lambdaGbSeconds": sum(usage.lambda_gb_seconds.values()) / n,
        "sqsRequests": usage.sqs_requests / n,
        "dynamodbWriteUnits": usage.dynamodb_write_units / n,
        "eventBridgeEvents": usage.eventbridge_events / n,
        "logBytes": usage.log_bytes / n,
    }
    million = 1_000_000
    services = {
        "stepFunctions": per_event["stateTransitions"] * p["stepFunctionsStandardPerTransition"] * million,
        "lambda": (per_event["lambdaRequests"] * p["lambdaArmPerRequest"]
                   + per_event["lambdaGbSeconds"] * p["lambdaArmPerGbSecond"]) * million,
        "sqs": per_event["sqsRequests"] * p["sqsPerRequest"] * million,
        "dynamodb": per_event["dynamodbWriteUnits"] * p["dynamodbPerWriteRequestUnit"] * million,
        "eventBridge": per_event["eventBridgeEvents"] * p["eventBridgePerPartnerEvent"] * million,
    }
    logs = per_event["logBytes"] * million / 1e9 * p["cloudWatchLogsPerGbIngested"]
    return {"total": round(sum(services.values()), 4), "byService": {k: round(v, 4) for k, v in services.items()},
            "cloudWatchLogsNotIncluded": round(logs, 4), "perEvent": {k: round(v, 6) for k, v in per_event.items()},
            "pricesTaken": p["taken"], "region": p["region"], "prices": {k: v for k, v in p.items()
                                                                          if isinstance(v, float | int)}}


def billed_gb_seconds(durations_ms: list[float], memory_mb: int) -> float:
    """Lambda bills each invocation's duration rounded up to the millisecond, times its memory."""
    return sum(math.ceil(max(d, 0.001)) for d in durations_ms) / 1000 * memory_mb / 1024


def before(events: int, enriched_events: int, write_units_per_write: float,
           table: dict[str, Any] | None = None) -> dict[str, Any]:
    """The per-event design priced for the same events: an execution per event (ValidateEvent, CheckValid,
    ProcessInteraction, SaveResult), fanout + validate + process + save invoked once per event (128 MB, billed
    1 ms each, and a Genesys round trip of about 150 ms for process on enriched events), one write per event,
    one partner event each, no SQS."""
    gb = 128 / 1024
    usage = Usage(
        events=events, state_transitions=4 * events,
        lambda_requests={"fanout": events, "validate": events, "process": events, "save": events},
        lambda_gb_seconds={"all": (4 * events * 0.001 + enriched_events * 0.150) * gb},
        sqs_requests=0, dynamodb_write_units=events * write_units_per_write, eventbridge_events=events)
    out = cost(usage, table)
    out["model"] = before.__doc__.split("\n\n")[0].replace("\n   ", "") if before.__doc__ else ""
    out["genesysRequestsPerEnrichedEvent"] = 1.0
    return out
