"""End to end, chaos: a small version of `make chaos` (local/chaos.py) - nothing lost, nothing written twice.

60 conversation events of 12 conversations, 10 % delivered twice, shuffled, some in JSON arrays, plus events that
must be dead-lettered (invalid conversationId, malformed detail) or skipped (not conversation events), while the
Genesys stand-in answers 429 / 503 / slow (beyond GENESYS_TIMEOUT=2 s) / 404 not-yet-indexed and revokes every token
twice, and the fault proxy throttles DynamoDB UpdateItem and Step Functions StartExecution (and loses a few answers).
The run has its own stack (the fault proxy and GENESYS_TIMEOUT need a fresh functions.env) and a time bound of
its own; the definitions of stored / superseded / skipped / dead-lettered / lost are in local/chaos.py.
"""

from __future__ import annotations

import pytest

from chaos import LOST, STORED, SUPERSEDED, ChaosConfig, ChaosRun, chaos_stack, print_result, verdict

# Higher fault rates than `make chaos` so that every kind shows up in a small load; the 404 of a conversation that
# is "not indexed yet" costs the ASL's 30 s retry interval, which dominates the run's time.
CONFIG = ChaosConfig(events=60, invalid=2, malformed=1, foreign=2, seed=7, timeout=120.0,
                     genesys_rates={"429": 0.12, "503": 0.08}, slow_rate=0.08, not_yet_indexed_share=0.17,
                     throttle_rate=0.2, lost_response_rate=0.08, put_burst_share=0.1, start_burst_share=0.05,
                     rate_limited_twice_share=0.17)


@pytest.fixture(scope="module")
def chaos():
    """A stack of its own with the fault proxy in front of moto (started once for this module)."""
    stack, proxy = chaos_stack("e2e-chaos", CONFIG, on_status=lambda text: print(f"[chaos stack] {text}", flush=True))
    with stack:
        yield stack, proxy


@pytest.mark.timeout(240, func_only=True)
def test_nothing_is_lost_and_nothing_is_written_twice(chaos) -> None:
    """Every unique event ends stored, superseded, skipped or dead-lettered; no duplicated write; newest wins."""
    stack, proxy = chaos
    result = ChaosRun(stack, proxy, CONFIG, log=lambda text: print(text, flush=True)).run()
    print_result(result, CONFIG)
    print(verdict(result))

    counts = result.report.counts
    assert counts[LOST] == 0, [v for v in result.violations if v.startswith("LOST")]
    assert counts["duplicated writes"] == 0, [v for v in result.violations if v.startswith("DUPLICATED")]
    assert counts[STORED] + counts[SUPERSEDED] == CONFIG.conversations * CONFIG.events_per_conversation
    assert counts["started"] == CONFIG.events + CONFIG.invalid
    assert counts["duplicates suppressed"] >= counts["planned duplicate deliveries"]
    assert counts["dead-lettered"] == CONFIG.invalid + CONFIG.malformed
    assert counts["skipped"] == CONFIG.foreign
    assert result.violations == []
