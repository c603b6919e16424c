//! The optional per-action answer cache, for idempotent lookups: in memory (one per container), each
//! answer kept for a fixed time, at most a fixed number of answers (the least recently used goes first).
//! Off by default (`CACHE_ACTIONS`); only successful answers are kept.
//!
//! Genesys does not cache data-action responses, and an org may run 2,500 actions a minute: a short TTL
//! on a lookup whose data changes slowly saves most upstream calls of a busy flow.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use serde_json::Value;

/// Whether an invocation's answer came from the cache (`hit`) or was computed and stored (`miss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Answered from the cache: no call was made.
    Hit,
    /// Computed; stored if it was a success.
    Miss,
}

impl CacheUse {
    /// The log line's `cache` value.
    pub fn name(self) -> &'static str {
        match self {
            CacheUse::Hit => "hit",
            CacheUse::Miss => "miss",
        }
    }
}

/// The answers of one action, by cache key.
#[derive(Debug)]
pub struct Cache {
    ttl: Duration,
    // A std mutex: held for a map lookup only, never across an await.
    entries: Mutex<LruCache<String, (Instant, Value)>>,
}

impl Cache {
    /// A cache keeping each answer for `ttl`, at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: NonZeroUsize) -> Cache {
        Cache {
            ttl,
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// The answer stored under `key`, if it is younger than the TTL (an expired one is dropped).
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((stored, value)) if stored.elapsed() < self.ttl => Some(value.clone()),
            Some(_) => {
                entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` under `key`, evicting the least recently used answer when full.
    pub fn put(&self, key: String, value: Value) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.put(key, (Instant::now(), value));
    }

    /// Answers held (expired ones included until they are looked up or evicted).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cache(ttl_ms: u64, capacity: usize) -> Cache {
        Cache::new(
            Duration::from_millis(ttl_ms),
            NonZeroUsize::new(capacity).unwrap(),
        )
    }

    #[test]
    fn a_stored_answer_is_returned_until_it_expires() {
        let c = cache(50, 10);
        assert_eq!(c.get("k"), None);
        c.put("k".into(), json!({"success": true}));
        assert_eq!(c.get("k"), Some(json!({"success": true})));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("k"), None);
        assert!(c.is_empty(), "an expired answer is dropped when looked up");
    }

    #[test]
    fn the_least_recently_used_answer_is_evicted_when_full() {
        let c = cache(60_000, 2);
        c.put("a".into(), json!(1));
        c.put("b".into(), json!(2));
        assert_eq!(c.get("a"), Some(json!(1)));
        c.put("c".into(), json!(3));
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b"), None, "b was the least recently used");
        assert_eq!(c.get("a"), Some(json!(1)));
        assert_eq!(c.get("c"), Some(json!(3)));
    }
}
