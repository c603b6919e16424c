//! Packing events into executions, and naming them.
//!
//! An execution carries at most `BATCH_MAX_EVENTS` events, and no state it goes through may exceed
//! `BATCH_MAX_BYTES` (at most 200 KiB, under Step Functions' 256 KiB): validate and process answer the events
//! again, with a record and an enrichment request each, so the budget counts what each event adds to every
//! state ([`gcx_core::contract::budget`]), not only to the input. Packing is deterministic (events ordered by
//! id), and an execution's name is derived from its events' ids
//! ([`gcx_core::contract::batch_name`]), so a redelivered batch starts nothing new.

use gcx_core::contract::budget::{Budget, ElementCost};
use gcx_core::contract::{batch_name, PipelineEvent};
use gcx_core::events::DetailTopic;

/// One execution to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Its name, from its events' ids.
    pub name: String,
    /// Its events, ordered by id.
    pub events: Vec<PipelineEvent>,
    /// The serialized input, `{"events": [...]}`.
    pub input: String,
    /// The largest state it can reach (bytes): the input, a Task's input or answer.
    pub largest_state: usize,
}

/// The limits an execution is packed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// `BATCH_MAX_EVENTS`.
    pub max_events: usize,
    /// `BATCH_MAX_BYTES`: the largest state any execution may reach.
    pub max_state_bytes: usize,
    /// The longest execution id of the state machine ([`gcx_core::contract::budget::execution_id_bound`]).
    pub execution_id_len: usize,
    /// The topics process enriches (`ENRICH_TOPICS`, read the same way); `None` counts every event as enriched.
    pub enrich_topics: Option<Vec<DetailTopic>>,
}

impl Limits {
    /// An empty execution's budget.
    pub fn budget(&self) -> Budget {
        let budget = Budget::new(self.max_state_bytes, self.execution_id_len);
        match &self.enrich_topics {
            Some(topics) => budget.enriching(topics),
            None => budget,
        }
    }

    /// The largest state an execution of `event` alone would reach, when that is over the limit.
    pub fn too_large(&self, event: &PipelineEvent) -> Option<usize> {
        let budget = self.budget();
        let cost = budget.cost(event);
        (!budget.fits(&cost)).then(|| budget.largest_with(&cost))
    }
}

/// Packs `events` (each small enough alone, [`Limits::too_large`]) into as few batches as the limits allow.
pub fn pack(mut events: Vec<PipelineEvent>, limits: &Limits) -> Vec<Batch> {
    events.sort_by(|a, b| a.event_id.cmp(&b.event_id));
    let mut groups: Vec<(Vec<PipelineEvent>, Budget)> = Vec::new();
    for event in events {
        let cost: ElementCost = limits.budget().cost(&event);
        match groups.last_mut() {
            Some((group, budget)) if group.len() < limits.max_events && budget.fits(&cost) => {
                group.push(event);
                budget.add(&cost);
            }
            _ => {
                let mut budget = limits.budget();
                budget.add(&cost);
                groups.push((vec![event], budget));
            }
        }
    }
    groups
        .into_iter()
        .map(|(events, budget)| {
            let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
            let name = batch_name(&ids);
            let input = serde_json::to_string(&gcx_core::contract::ExecutionInput {
                events: events.clone(),
            })
            .unwrap_or_default();
            Batch {
                name,
                events,
                input,
                largest_state: budget.largest(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gcx_core::contract::MAX_EXECUTION_NAME;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(id: &str, padding: usize) -> PipelineEvent {
        PipelineEvent {
            conversation_id: "1bc96a39-6725-40c4-9345-db72aa67b8c6".into(),
            event_id: id.into(),
            event_type: "v2.detail.events.conversation.{id}.acw".into(),
            event_time: 1,
            correlation_id: None,
            detail: json!({"eventBody": {"userId": "x".repeat(padding)}}),
        }
    }

    fn limits(max_events: usize, max_state_bytes: usize) -> Limits {
        Limits {
            max_events,
            max_state_bytes,
            execution_id_len: 200,
            enrich_topics: None,
        }
    }

    #[test]
    fn batches_are_bounded_by_count() {
        let events: Vec<_> = (0..250).map(|i| event(&format!("e{i:03}"), 10)).collect();
        let batches = pack(events, &limits(100, 200 * 1024));
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert_eq!(batches[0].events[0].event_id, "e000");
        assert!(batches
            .iter()
            .all(|b| b.name.starts_with("batch-") && b.name.len() <= MAX_EXECUTION_NAME));
    }

    #[test]
    fn batches_are_bounded_by_their_largest_state_not_their_input() {
        // 10 KB events: process answers each with a record and a request that carry the padding too.
        let events: Vec<_> = (0..40)
            .map(|i| event(&format!("e{i:02}"), 10_000))
            .collect();
        let batches = pack(events, &limits(1000, 200 * 1024));
        for b in &batches {
            assert!(b.largest_state <= 200 * 1024, "{}", b.largest_state);
            assert!(
                b.largest_state > 2 * b.input.len(),
                "{} vs {}",
                b.largest_state,
                b.input.len()
            );
        }
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes[0] < 10, "{sizes:?}");
    }

    #[test]
    fn names_are_deterministic_and_order_free() {
        let a = pack(vec![event("x", 1), event("y", 1)], &limits(100, 200 * 1024));
        let b = pack(vec![event("y", 1), event("x", 1)], &limits(100, 200 * 1024));
        assert_eq!(a, b);
    }

    #[test]
    fn an_event_too_large_alone_is_named() {
        let l = limits(100, 200 * 1024);
        assert_eq!(l.too_large(&event("a", 1000)), None);
        let largest = l.too_large(&event("a", 150_000)).unwrap();
        assert!(largest > 200 * 1024);
    }

    proptest! {
        /// Packing loses and duplicates nothing, and keeps both limits.
        #[test]
        fn packing_keeps_every_event_within_the_limits(
            sizes in proptest::collection::vec(0usize..3000, 0..60),
            max_events in 1usize..20,
        ) {
            let l = limits(max_events, 32 * 1024);
            let events: Vec<_> = sizes.iter().enumerate().map(|(i, s)| event(&format!("e{i:03}"), *s)).collect();
            let batches = pack(events, &l);
            let mut ids: Vec<String> = batches.iter().flat_map(|b| b.events.iter().map(|e| e.event_id.clone())).collect();
            prop_assert_eq!(ids.len(), sizes.len());
            ids.dedup();
            prop_assert_eq!(ids.len(), sizes.len());
            for b in &batches {
                prop_assert!(b.events.len() <= max_events);
                prop_assert!(b.largest_state <= l.max_state_bytes);
                prop_assert!(b.input.len() <= b.largest_state);
            }
        }
    }
}
