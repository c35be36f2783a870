//! What the hooks did recently, kept in memory so the page can show that they ran.
//!
//! A real app would write to its own tables here; the demo keeps the last few events in
//! memory. Each event belongs to the user whose upload it is about, and a user is only ever
//! shown their own (an event without a user, such as a failure before anyone signed in, is
//! shown to nobody).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Events kept in all, for every user together.
const KEEP: usize = 500;
/// Events shown to one user, newest first.
pub const SHOWN: usize = 30;

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

/// The last [`SHOWN`] events of `user`, newest first.
pub fn recent_for(user: &str) -> Vec<Event> {
    let events = EVENTS.lock().unwrap_or_else(|p| p.into_inner());
    events
        .iter()
        .filter(|e| e.user.as_deref() == Some(user))
        .take(SHOWN)
        .cloned()
        .collect()
}
