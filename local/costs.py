"""The cost model: what a run's measured counts cost at list prices (docs/prices.json), every line AWS bills.

`cost` prices, per million events, the counts a run measured (replay's report): EventBridge partner events, SQS
requests, Step Functions transitions, Lambda requests and GB-seconds, DynamoDB write units of the table and of its
indexes (metered per write by the AWS proxy, local/dynamo_billing.py), CloudWatch Logs ingestion of the lines the
functions wrote (their embedded metric blocks included) and X-Ray traces under the sampling in force.

`monthly_fixed` prices what a deployed stack costs each month whatever its volume: custom metrics, alarms, the
dashboard, secrets, the event sources' idle polling, and the table's storage and point-in-time recovery at the
configured retention. `monthly_bill` adds the two for a steady rate, as docs/capacity.md prints it.

`before` prices the design this project had before batching, from the same run's event counts and its published
per-event figures (docs/capacity.md): one execution per event entering 4 states, 4 Lambda invocations (fanout + 3
Tasks), one Genesys request per enriched event.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES = Path(__file__).resolve().parents[1] / "docs" / "prices.json"
MILLION = 1_000_000
SECONDS_PER_MONTH = 30 * 86_400
# The billed lines of a run, in the order the report and docs/capacity.md print them.
SERVICES = ("eventBridge", "sqs", "stepFunctions", "lambda", "dynamodb", "dynamodbIndexes", "cloudWatchLogs", "xray")


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
    dynamodb_index_write_units: float = 0
    xray_traces: float = 0


def cost(usage: Usage, table: dict[str, Any] | None = None) -> dict[str, Any]:
    """Dollars per million events by service (`total` is their sum), with the per-event inputs and the prices."""
    p = table or prices()
    n = max(usage.events, 1)
    per_event = {
        "stateTransitions": usage.state_transitions / n,
        "lambdaRequests": sum(usage.lambda_requests.values()) / n,
        "lambdaGbSeconds": sum(usage.lambda_gb_seconds.values()) / n,
        "sqsRequests": usage.sqs_requests / n,
        "dynamodbWriteUnits": usage.dynamodb_write_units / n,
        "dynamodbIndexWriteUnits": usage.dynamodb_index_write_units / n,
        "eventBridgeEvents": usage.eventbridge_events / n,
        "logBytes": usage.log_bytes / n,
        "xrayTraces": usage.xray_traces / n,
    }
    by_service = per_million(per_event, p)
    return {"total": round(sum(by_service.values()), 4), "byService": {k: round(v, 4) for k, v in by_service.items()},
            "perEvent": {k: round(v, 6) for k, v in per_event.items()},
            "pricesTaken": p["taken"], "region": p["region"],
            "prices": {k: v for k, v in p.items() if isinstance(v, float | int)}}


def per_million(per_event: dict[str, float], p: dict[str, Any]) -> dict[str, float]:
    """Each billed line's dollars per million events, from the per-event inputs."""
    return {
        "eventBridge": per_event["eventBridgeEvents"] * p["eventBridgePerPartnerEvent"] * MILLION,
        "sqs": per_event["sqsRequests"] * p["sqsPerRequest"] * MILLION,
        "stepFunctions": per_event["stateTransitions"] * p["stepFunctionsStandardPerTransition"] * MILLION,
        "lambda": (per_event["lambdaRequests"] * p["lambdaArmPerRequest"]
                   + per_event["lambdaGbSeconds"] * p["lambdaArmPerGbSecond"]) * MILLION,
        "dynamodb": per_event["dynamodbWriteUnits"] * p["dynamodbPerWriteRequestUnit"] * MILLION,
        "dynamodbIndexes": per_event["dynamodbIndexWriteUnits"] * p["dynamodbPerWriteRequestUnit"] * MILLION,
        "cloudWatchLogs": per_event["logBytes"] * MILLION / 1e9 * p["cloudWatchLogsPerGbIngested"],
        "xray": per_event["xrayTraces"] * p["xrayPerTrace"] * MILLION,
    }


def billed_gb_seconds(durations_ms: list[float], memory_mb: int) -> float:
    """Lambda bills each invocation's duration rounded up to the millisecond, times its memory."""
    return sum(math.ceil(max(d, 0.001)) for d in durations_ms) / 1000 * memory_mb / 1024


def sampled_traces(starts_per_second: list[int], reservoir: int, rate: float) -> float:
    """Traces X-Ray records under a sampling rule: each second the first `reservoir` requests, then `rate` of the
    rest (AWS's default rule: 1 a second and 5 %)."""
    return sum(min(n, reservoir) + rate * max(0, n - reservoir) for n in starts_per_second)


@dataclass
class Fixed:
    """What a stack holds whatever its volume."""

    custom_metrics: int
    alarm_metrics: int
    dashboards: int
    secrets: int
    idle_polling_requests_per_month: float
    stored_gb: float
    pitr: bool
    details: dict[str, Any] = field(default_factory=dict)


def monthly_fixed(fixed: Fixed, table: dict[str, Any] | None = None) -> dict[str, Any]:
    """Dollars a month, whatever the volume: `{"total", "items": {...}, "inputs": {...}}`."""
    p = table or prices()
    items = {
        "customMetrics": max(0, fixed.custom_metrics - p["cloudWatchFreeMetrics"]) * p["customMetricPerMonth"],
        "alarms": max(0, fixed.alarm_metrics - p["cloudWatchFreeAlarms"]) * p["alarmMetricPerMonth"],
        "dashboard": fixed.dashboards * p["dashboardPerMonth"],
        "secrets": fixed.secrets * p["secretPerMonth"],
        "idlePolling": fixed.idle_polling_requests_per_month * p["sqsPerRequest"],
        "storage": fixed.stored_gb * p["dynamodbStoragePerGbMonth"],
        "pointInTimeRecovery": fixed.stored_gb * p["pitrPerGbMonth"] if fixed.pitr else 0.0,
    }
    inputs = {"customMetrics": fixed.custom_metrics, "alarmMetrics": fixed.alarm_metrics,
              "dashboards": fixed.dashboards, "secrets": fixed.secrets,
              "idlePollingRequestsPerMonth": round(fixed.idle_polling_requests_per_month),
              "storedGb": round(fixed.stored_gb, 4), **fixed.details}
    return {"total": round(sum(items.values()), 2), "items": {k: round(v, 2) for k, v in items.items()},
            "inputs": inputs}


def idle_polling(queues: int, pollers: int = 5, wait_seconds: int = 20) -> float:
    """ReceiveMessage calls a month of idle SQS event sources: each keeps at least `pollers` long polls of
    `wait_seconds` going (a MaximumConcurrency disables the scale-down to 2)."""
    return queues * pollers * SECONDS_PER_MONTH / wait_seconds


def stored_gb(events_per_second: float, item_bytes_per_event: float, retention_days: float) -> float:
    """The table's size at steady state: what the retention keeps (0 days: a year, and growing)."""
    days = retention_days if retention_days > 0 else 365
    return events_per_second * 86_400 * days * item_bytes_per_event / 1e9


def monthly_bill(rate: float, per_event: dict[str, float], fixed: dict[str, Any],
                 table: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole monthly bill at a steady `rate` events per second: the per-event lines (per_million of
    `per_event`) times the month's events, plus `fixed` (monthly_fixed)."""
    p = table or prices()
    events = rate * SECONDS_PER_MONTH
    variable = {k: v * events / MILLION for k, v in per_million(per_event, p).items()}
    return {"eventsPerSecond": rate, "eventsPerMonth": round(events), "variable": round(sum(variable.values()), 2),
            "fixed": fixed["total"], "total": round(sum(variable.values()) + fixed["total"], 2),
            "byService": {k: round(v, 2) for k, v in variable.items()}}


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
