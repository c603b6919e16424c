//! Phase: warm loops. One process per entry; one untimed priming invocation, then the timed ones, each
//! timed from the emulator handing the event out to the answer coming back.

use crate::entries::Entry;
use crate::machine::load_average;
use crate::measure::{self, Summary, Warm};
use crate::results::{rss_mb, Results};
use crate::say;

/// The warm loop of one entry, with a progress line.
pub fn one(entry: &mut Entry) -> Result<Warm, String> {
    say(&format!(
        "{}: {} warm invocations",
        entry.name, entry.warm_runs
    ));
    let warm = measure::warm_loop(
        &entry.target,
        entry.warm_runs,
        &mut *entry.event_for,
        &*entry.check,
    )?;
    let summary = Summary::of(&warm.samples_ms);
    say(&format!(
        "{}: warm p50 {:.3} ms, p99 {:.3} ms, peak RSS {:.1} MB (load average {})",
        entry.name,
        summary.p50,
        summary.p99,
        rss_mb(warm.peak_rss_kb),
        load_average()
    ));
    Ok(warm)
}

/// The warm loops of the entries named `names` (those present), one after the other.
pub fn run(entries: &mut [Entry], names: &[&str], results: &mut Results) -> Result<(), String> {
    for entry in entries.iter_mut().filter(|e| names.contains(&e.name)) {
        let warm = one(entry)?;
        results.warm(entry.name, &warm);
    }
    Ok(())
}
