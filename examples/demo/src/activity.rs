//! What the hooks did recently, kept in memory so the page can show that they ran.
//!
//! A real app would write to its own tables here; the demo keeps the last few events.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

const KEEP: usize = 30;

static EVENTS: Mutex<VecDeque<Event>> = Mutex::new(VecDeque::new());

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unix time in milliseconds.
    pub at: u64,
    pub route: &'static str,
    pub user: Option<String>,
    /// `complete` or `error`.
    pub outcome: &'static str,
    pub summary: String,
}

pub fn record(route: &'static str, user: Option<&str>, outcome: &'static str, summary: String) {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let event = Event {
        at,
        route,
        user: user.map(str::to_string),
        outcome,
        summary,
    };
    let mut events = EVENTS.lock().unwrap_or_else(|p| p.into_inner());
    if events.len() == KEEP {
        events.pop_back();
    }
    events.push_front(event);
}

/// Newest first.
pub fn recent() -> Vec<Event> {
    let events = EVENTS.lock().unwrap_or_else(|p| p.into_inner());
    events.iter().cloned().collect()
}
