//! `gcx status`: how full each queue is, what failed lately, how far enrichment lags, how many
//! executions run. It never deletes: a peek receives with a short visibility timeout and makes the
//! messages visible again as soon as it has read them.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::aws::{Clients, Failure};
use crate::cli::StatusArgs;
use crate::error::Error;
use crate::queue::{self, Depth, Received};
use crate::targets::Targets;

/// Seconds a peeked message stays hidden if gcx dies before making it visible again.
const PEEK_VISIBILITY: i32 = 30;
/// EnrichmentQueue messages looked at for the lag: one receive, so one count towards maxReceiveCount.
const LAG_PEEK: u32 = 10;

/// Prints the status; `Ok(false)` when some part could not be read (said on the line).
pub async fn run(clients: &Clients, targets: &Targets, args: &StatusArgs) -> Result<bool, Error> {
    let dead_letter_queues = targets.selected(&args.only)?;
    let mut rows: Vec<(&str, String)> = dead_letter_queues
        .iter()
        .map(|(kind, url)| (kind.queue_name(), url.clone()))
        .collect();
    if let Some(url) = &targets.enrichment_queue {
        rows.push(("EnrichmentQueue", url.clone()));
    }
    if let Some(url) = &targets.buffer_queue {
        rows.push(("FanoutBufferQueue", url.clone()));
    }
    // Every queue is read before anything is printed: a missing one is one line, not half a table.
    let mut depths: HashMap<String, Depth> = HashMap::new();
    for (name, url) in &rows {
        let d = queue::depth(&clients.sqs, url)
            .await
            .map_err(|f| Error::queue(name, url, f))?;
        depths.insert(url.clone(), d);
    }
    println!(
        "{:<28} {:>9} {:>10} {:>8}",
        "queue", "visible", "in flight", "delayed"
    );
    for (name, url) in &rows {
        let d = depths.get(url).copied().unwrap_or_default();
        println!(
            "{name:<28} {:>9} {:>10} {:>8}",
            d.visible, d.in_flight, d.delayed
        );
    }

    let mut ok = true;
    if !args.no_peek {
        println!();
        println!("failures by error name (peeked, made visible again, none deleted):");
        for (kind, url) in &dead_letter_queues {
            let visible = depths.get(url).map_or(0, |d| d.visible);
            if visible == 0 {
                println!("  {:<11} none visible", kind.name());
                continue;
            }
            let peeked = match peek(&clients.sqs, url, args.peek).await {
                Ok(p) => p,
                Err(f) => {
                    println!("  {:<11} could not peek: {f}", kind.name());
                    ok = false;
                    continue;
                }
            };
            let mut by_error: BTreeMap<String, (u64, Option<i64>)> = BTreeMap::new();
            for m in &peeked {
                let name = crate::letters::read(*kind, m)
                    .error
                    .filter(|e| e.len() <= 128)
                    .unwrap_or_else(|| "(no error name)".into());
                let entry = by_error.entry(name).or_default();
                entry.0 += 1;
                entry.1 = entry.1.max(m.sent_ms);
            }
            let mut sorted: Vec<(String, (u64, Option<i64>))> = by_error.into_iter().collect();
            sorted.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
            println!(
                "  {:<11} {} peeked of about {visible} visible",
                kind.name(),
                peeked.len()
            );
            for (name, (count, newest)) in sorted {
                println!(
                    "  {:<11} {name:<32} {count:>6}   newest {}",
                    kind.name(),
                    newest.map_or_else(|| "unknown".into(), rfc3339)
                );
            }
        }
    }

    if let Some(url) = &targets.enrichment_queue {
        println!();
        if args.no_peek {
            println!("enrichment lag: not measured (--no-peek)");
        } else {
            match peek(&clients.sqs, url, LAG_PEEK).await {
                Ok(peeked) => println!("{}", lag_line(&peeked, depths.get(url), now_ms())),
                Err(f) => {
                    println!("enrichment lag: could not peek EnrichmentQueue: {f}");
                    ok = false;
                }
            }
        }
    }

    if let Some(arn) = &targets.state_machine {
        match running(&clients.sfn, arn).await {
            Ok((n, more)) => println!("running executions: {n}{}", if more { "+" } else { "" }),
            Err(f) => {
                println!("running executions: could not list: {f}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// Up to `limit` distinct messages of `url`, then all made visible again at once.
async fn peek(sqs: &aws_sdk_sqs::Client, url: &str, limit: u32) -> Result<Vec<Received>, Failure> {
    let mut got: Vec<Received> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut receipts: HashMap<String, String> = HashMap::new();
    let mut idle = 0;
    let mut result = Ok(());
    while (got.len() as u64) < u64::from(limit) {
        let want = i32::try_from(u64::from(limit) - got.len() as u64).unwrap_or(10);
        let batch = match queue::receive(sqs, url, want.min(10), PEEK_VISIBILITY).await {
            Ok(b) => b,
            Err(f) => {
                result = Err(f);
                break;
            }
        };
        if batch.is_empty() {
            break;
        }
        let mut fresh = false;
        for m in batch {
            receipts.insert(m.id.clone(), m.receipt.clone());
            if seen.insert(m.id.clone()) {
                fresh = true;
                got.push(m);
            }
        }
        idle = if fresh { 0 } else { idle + 1 };
        if idle >= 2 {
            break;
        }
    }
    let all: Vec<String> = receipts.into_values().collect();
    queue::release(sqs, url, &all).await;
    result.map(|()| got)
}

/// "enrichment lag: ..." from peeked EnrichmentQueue messages: the oldest `firstQueuedAt` of their
/// requests, else when the message was sent.
fn lag_line(peeked: &[Received], depth: Option<&Depth>, now_ms: i64) -> String {
    let oldest = peeked.iter().filter_map(queued_at).min();
    match oldest {
        Some((at, by)) => format!(
            "enrichment lag: {} (oldest of {} visible EnrichmentQueue messages peeked, by {by}: queued {})",
            human(now_ms.saturating_sub(at)),
            peeked.len(),
            rfc3339(at)
        ),
        None => {
            let d = depth.copied().unwrap_or_default();
            format!(
                "enrichment lag: no request visible ({} delayed, {} in flight)",
                d.delayed, d.in_flight
            )
        }
    }
}

/// When the oldest request of one message was first queued, and from what.
fn queued_at(m: &Received) -> Option<(i64, &'static str)> {
    let body: Option<Value> = serde_json::from_str(&m.body).ok();
    let first = body
        .as_ref()
        .and_then(|b| b.get("requests"))
        .and_then(Value::as_array)
        .and_then(|rs| {
            rs.iter()
                .filter_map(|r| r.get("firstQueuedAt").and_then(Value::as_i64))
                .filter(|t| *t > 0)
                .min()
        });
    match first {
        Some(t) => Some((t, "firstQueuedAt")),
        None => m.sent_ms.map(|t| (t, "SentTimestamp")),
    }
}

/// RUNNING executions of the first page (100); `true` when there are more.
async fn running(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<(usize, bool), Failure> {
    let out = sfn
        .list_executions()
        .state_machine_arn(arn)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .max_results(100)
        .send()
        .await
        .map_err(|e| Failure::of(&e))?;
    Ok((out.executions().len(), out.next_token().is_some()))
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `4s`, `12m 4s`, `3h 2m`, `2d 5h`.
fn human(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m {}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str, sent_ms: i64) -> Received {
        Received {
            id: "m".into(),
            receipt: "r".into(),
            body: body.into(),
            sent_ms: Some(sent_ms),
            error_code: None,
        }
    }

    #[test]
    fn lag_is_from_first_queued_else_sent() {
        let now = 1_800_000_000_000;
        let peeked = [
            msg(
                r#"{"requests":[{"firstQueuedAt":1799999000000},{"firstQueuedAt":1799999880000}]}"#,
                now - 5_000,
            ),
            msg("not json", now - 600_000),
        ];
        let line = lag_line(&peeked, None, now);
        assert!(line.starts_with("enrichment lag: 16m 40s "), "{line}");
        assert!(line.contains("by firstQueuedAt"), "{line}");
        let line = lag_line(&peeked[1..], None, now);
        assert!(
            line.starts_with("enrichment lag: 10m 0s ") && line.contains("SentTimestamp"),
            "{line}"
        );
        let d = Depth {
            visible: 0,
            in_flight: 1,
            delayed: 4,
        };
        assert_eq!(
            lag_line(&[], Some(&d), now),
            "enrichment lag: no request visible (4 delayed, 1 in flight)"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(4_000), "4s");
        assert_eq!(human(724_000), "12m 4s");
        assert_eq!(human(3_600_000 * 3 + 120_000), "3h 2m");
        assert_eq!(human(86_400_000 * 2 + 3_600_000 * 5), "2d 5h");
        assert_eq!(human(-5), "0s");
        assert_eq!(rfc3339(1_800_000_000_000), "2027-01-15T08:00:00Z");
    }
}
