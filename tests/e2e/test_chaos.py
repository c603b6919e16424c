"""End to end, chaos: a small version of `make chaos` (local/chaos.py) - nothing lost, nothing written twice.

60 conversation events of 12 conversations, 10 % delivered twice, shuffled, some in JSON arrays straight to fanout,
the rest through the buffer queue, plus events that must be dead-lettered (invalid conversationId, malformed detail)
or skipped (not conversation events), while the Genesys stand-in answers 429 / 503 / slow / not indexed yet and
revokes every token twice, and the AWS proxy throttles DynamoDB UpdateItem and Step Functions StartExecution (and
loses a few answers). The run has its own stack (the faults need a fresh functions.env) and its own time bound.
"""

from __future__ import annotations

import pytest

from chaos import ChaosConfig, print_result, run_chaos, verdict
from run import DEAD_LETTERED, SKIPPED, STORED, SUPERSEDED, UNACCOUNTED

# Higher fault rates than `make chaos` so that every kind shows up in a small load. A conversation whose multi-gets
# keep failing is handed back with a doubling delay (3 s, 6 s, ... locally), so an unlucky draw can need minutes:
# the run usually goes idle in 2-4 minutes, and waits up to 6 before it calls a conversation not enriched.
CONFIG = ChaosConfig(events=60, invalid=2, malformed=2, foreign=2, seed=7, timeout=360.0,
                     genesys_rates={"429": 0.25, "503": 0.2}, slow_rate=0.1, not_indexed_share=0.3,
                     throttle_rate=0.2, lost_response_rate=0.08, put_burst_share=0.1, start_burst_share=0.2,
                     multiget_max=4, genesys_rate_limit=30, require_rate_limit=False)


@pytest.mark.timeout(540, func_only=True)
def test_nothing_is_lost_and_nothing_is_written_twice() -> None:
    """Every unique event ends stored, superseded, skipped or dead-lettered; no duplicated write; newest wins;
    every conversation enriched."""
    result = run_chaos("e2e-chaos", CONFIG, on_status=lambda text: print(f"[chaos stack] {text}", flush=True))
    print_result(result, CONFIG)
    print(verdict(result))

    a = result.report["accounting"]
    assert a[UNACCOUNTED] == 0, result.report["unaccounted"]
    assert result.report["duplicatedWrites"] == []
    assert a[STORED] + a[SUPERSEDED] == CONFIG.conversations * CONFIG.events_per_conversation
    assert a[DEAD_LETTERED] == CONFIG.invalid + CONFIG.malformed
    assert a[SKIPPED] == CONFIG.foreign
    assert result.report["enrichment"]["missing"] == []
    assert result.violations == []
