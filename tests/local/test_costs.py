"""The cost model's arithmetic (local/costs.py), DynamoDB's write billing as the AWS proxy meters it
(local/dynamo_billing.py), and the report's page (local/charts.py): each recomputed here independently."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "local"))

import charts  # noqa: E402
import costs  # noqa: E402
from dynamo_billing import Index, WriteMeter, item_size, units, value_size  # noqa: E402
from stack import plain  # noqa: E402

PRICES = json.loads((REPO / "docs" / "prices.json").read_text())


def usage(**overrides) -> costs.Usage:
    base = dict(events=22_000, state_transitions=660, lambda_requests={"fanout": 220, "save": 220},
                lambda_gb_seconds={"save": 12.5}, sqs_requests=27_000, dynamodb_write_units=20_000,
                eventbridge_events=22_400, log_bytes=4_400_000, dynamodb_index_write_units=3_000, xray_traces=0)
    return costs.Usage(**{**base, **overrides})


def test_every_billed_line_is_priced_and_the_total_is_their_sum():
    out = costs.cost(usage())
    assert list(out["byService"]) == list(costs.SERVICES)
    assert out["total"] == pytest.approx(sum(out["byService"].values()), abs=1e-3)
    n = 22_000
    want = {
        "eventBridge": 22_400 / n * 1.0,
        "sqs": 27_000 / n * 0.40,
        "stepFunctions": 660 / n * 25.0,
        "lambda": 440 / n * 0.20 + 12.5 / n * 0.0000133334 * 1e6,
        "dynamodb": 20_000 / n * 0.625,
        "dynamodbIndexes": 3_000 / n * 0.625,
        "cloudWatchLogs": 4_400_000 / n / 1e9 * 0.5 * 1e6,
        "xray": 0.0,
    }
    for service, dollars in want.items():
        assert out["byService"][service] == pytest.approx(dollars, rel=1e-3, abs=1e-4), service
    assert out["perEvent"]["dynamodbIndexWriteUnits"] == pytest.approx(3_000 / n, rel=1e-4)
    assert out["perEvent"]["logBytes"] == pytest.approx(200)
    assert out["pricesTaken"] == PRICES["taken"]


def test_xray_traces_follow_the_sampling_rule():
    # The default rule: the first request each second, then 5 % of the rest.
    assert costs.sampled_traces([1, 21, 0, 3], reservoir=1, rate=0.05) == pytest.approx(1 + 2 + 0 + 1.1)
    out = costs.cost(usage(xray_traces=110))
    assert out["byService"]["xray"] == pytest.approx(110 / 22_000 * 5.0, rel=1e-3)


def test_the_monthly_fixed_part_counts_beyond_the_free_tiers():
    fixed = costs.Fixed(custom_metrics=52, alarm_metrics=31, dashboards=1, secrets=2,
                        idle_polling_requests_per_month=costs.idle_polling(queues=2), stored_gb=10.0, pitr=True)
    out = costs.monthly_fixed(fixed)
    assert out["items"]["customMetrics"] == pytest.approx((52 - 10) * 0.30)
    assert out["items"]["alarms"] == pytest.approx((31 - 10) * 0.10)
    assert out["items"]["dashboard"] == 3.0 and out["items"]["secrets"] == pytest.approx(0.80)
    # 2 queues x 5 long polls of 20 s for 30 days.
    assert out["inputs"]["idlePollingRequestsPerMonth"] == 2 * 5 * 30 * 86_400 // 20
    assert out["items"]["storage"] == pytest.approx(2.5) and out["items"]["pointInTimeRecovery"] == pytest.approx(2.0)
    assert out["total"] == pytest.approx(sum(out["items"].values()), abs=0.01)
    # Retention bounds storage; 0 (keep for ever) is priced at a year, and grows.
    assert costs.stored_gb(10, 1000, 30) == pytest.approx(10 * 86_400 * 30 * 1000 / 1e9)
    assert costs.stored_gb(10, 1000, 0) == pytest.approx(costs.stored_gb(10, 1000, 365))


def test_the_monthly_bill_is_the_per_event_lines_times_the_months_events_plus_the_fixed_part():
    per_event = costs.cost(usage())["perEvent"]
    fixed = {"total": 20.0}
    bill = costs.monthly_bill(10, per_event, fixed)
    per_million = costs.cost(usage())["total"]
    assert bill["eventsPerMonth"] == 10 * 30 * 86_400
    assert bill["total"] == pytest.approx(per_million * 25.92 + 20.0, rel=1e-3)


def test_dynamodb_sizes_follow_its_rules():
    assert value_size({"S": "héllo"}) == 6
    assert value_size({"N": "1649237444949"}) == 8  # 13 significant digits: 7, plus 1
    assert value_size({"N": "-0.500"}) == 2
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"L": [{"S": "ab"}, {"S": "c"}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"userId": {"S": "u1"}}}) == 3 + 1 + 6 + 2
    assert item_size({"conversationId": {"S": "x" * 36}, "enriched": {"BOOL": False}}) == 14 + 36 + 8 + 1
    assert units(0) == 1 and units(1024) == 1 and units(1025) == 2


def item(key: str, **attrs: dict) -> dict:
    return {"conversationId": {"S": key}, **attrs}


def test_writes_bill_the_larger_size_and_refused_writes_the_current_one():
    meter = WriteMeter("t", "conversationId")
    big = item("c1", pad={"S": "x" * 1500})
    meter.write("c1", big, accepted=True)
    meter.write("c1", item("c1", pad={"S": "y"}), accepted=True)  # shrinks: billed on the larger, before
    meter.write("c1", None, accepted=False)  # refused: the item as it is
    assert meter.stats() == {"writes": 3, "refused": 1, "tableWriteUnits": 2 + 2 + 1, "indexWrites": 0,
                             "indexWriteUnits": 0}


def test_an_index_is_written_only_when_its_keys_or_projected_attributes_change():
    index = Index(hash_key="customerKey", range_key="customerContactAt", projected=("conversationEnd",),
                  table_key="conversationId")
    meter = WriteMeter("t", "conversationId", [index])
    keyed = dict(customerKey={"S": "k"}, customerContactAt={"N": "5"})
    meter.write("c1", item("c1", lastEventId={"S": "e1"}), True)  # no key: not in the index
    meter.write("c1", item("c1", lastEventId={"S": "e2"}, **keyed), True)  # keyed: an insert
    meter.write("c1", item("c1", lastEventId={"S": "e3"}, **keyed), True)  # not projected: nothing
    meter.write("c1", item("c1", lastEventId={"S": "e3"}, conversationEnd={"S": "z"}, **keyed), True)  # update
    meter.write("c1", item("c1", conversationEnd={"S": "z"}, customerKey={"S": "k2"},
                           customerContactAt={"N": "5"}), True)  # key change: delete + put
    assert meter.stats()["indexWrites"] == 1 + 1 + 2
    everything = WriteMeter("t", "conversationId", [Index("customerKey", "customerContactAt", None, "conversationId")])
    everything.write("c1", item("c1", lastEventId={"S": "e2"}, **keyed), True)
    everything.write("c1", item("c1", lastEventId={"S": "e3"}, **keyed), True)  # ALL projects lastEventId
    assert everything.stats()["indexWrites"] == 2


def test_stored_items_are_plain_json():
    assert plain({"durationMs": Decimal("300000"), "score": Decimal("1.5"), "ids": {"b", "a"},
                  "agents": [{"n": Decimal("2")}]}) == {"durationMs": 300000, "score": 1.5, "ids": ["a", "b"],
                                                        "agents": [{"n": 2}]}


def test_the_page_holds_both_charts_and_the_bill(tmp_path):
    report = {
        "events": 100, "executions": 2,
        "accounting": {"stored": 90, "superseded": 5, "skipped": 3, "dead-lettered": 2, "unaccounted": 0},
        "costPerMillionEvents": costs.cost(usage()),
        "monthlyFixed": costs.monthly_fixed(costs.Fixed(12, 12, 1, 2, 1e6, 1.0, True)),
        "timeline": {"minutes": 3, "budgetPerMinute": 240, "genesysRequests": [5, 17, 2],
                     "storedLagMs": {"p50": [900, 1100, None], "p99": [2400, 3100, None]},
                     "enrichmentLagMs": {"p50": [None, 65_000, 70_000], "p99": [None, 95_000, 120_000]}},
    }
    png = charts.write(report, tmp_path / "r.html")
    assert png == tmp_path / "r.png" and png.read_bytes().startswith(b"\x89PNG")
    page = (tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "dynamodbIndexes" in page
    assert f"${report['costPerMillionEvents']['total']:.2f}" in page
    assert "<script" not in page and "http" not in page.split("data:image")[0].lower().replace("charset", "")


def test_the_capacity_bill_is_what_the_model_gives_for_the_committed_figures():
    """docs/capacity.md's monthly bill is generated from bench/replay.json (local/capacity.py --write)."""
    import capacity

    report = json.loads((REPO / "bench" / "replay.json").read_text())
    doc = (REPO / "docs" / "capacity.md").read_text()
    assert capacity.section(doc) == capacity.table(report), (
        "docs/capacity.md's monthly bill is stale: .venv/bin/python local/capacity.py --write")
    rows = capacity.bills(report)
    assert [b["eventsPerSecond"] for b in rows] == [10, 100, 1000]
    for b in rows:
        assert b["total"] == pytest.approx(b["variable"] + b["fixed"], abs=0.011)
    # Fuller batches at higher rates: never more per event.
    assert rows[0]["variable"] / 10 >= rows[1]["variable"] / 100 - 0.01 >= rows[2]["variable"] / 1000 - 0.02


def test_the_committed_report_counts_every_billed_line_and_adds_up():
    report = json.loads((REPO / "bench" / "replay.json").read_text())
    cost = report["costPerMillionEvents"]
    assert list(cost["byService"]) == list(costs.SERVICES)
    recomputed = costs.per_million(cost["perEvent"], PRICES)
    for service, dollars in recomputed.items():
        assert cost["byService"][service] == pytest.approx(dollars, rel=0.03, abs=0.001), service
    assert cost["total"] == pytest.approx(sum(cost["byService"].values()), abs=0.001)
    assert cost["pricesTaken"] == PRICES["taken"]
    assert report["monthlyFixed"]["total"] == pytest.approx(sum(report["monthlyFixed"]["items"].values()), abs=0.011)
