//! Failed logins: after a few in a row a user name is locked for a while, whether or not such a
//! user exists (the answer must not tell). Bounded, so a spray of names cannot grow it forever.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const MAX_NAMES: usize = 10_000;

pub struct Lockout {
    attempts: u32,
    duration: Duration,
    names: Mutex<HashMap<String, Entry>>,
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
}

impl Lockout {
    pub fn new(attempts: u32, duration: Duration) -> Lockout {
        Lockout {
            attempts,
            duration,
            names: Mutex::new(HashMap::new()),
        }
    }

    /// How long `name` stays locked, if it is.
    pub fn locked(&self, name: &str) -> Option<Duration> {
        let names = self.names.lock().expect("lockout lock");
        let until = names.get(name)?.locked_until?;
        until.checked_duration_since(Instant::now())
    }

    pub fn failed(&self, name: &str) {
        let mut names = self.names.lock().expect("lockout lock");
        if names.len() >= MAX_NAMES && !names.contains_key(name) {
            let now = Instant::now();
            names.retain(|_, e| e.locked_until.is_some_and(|u| u > now));
            if names.len() >= MAX_NAMES {
                names.clear();
            }
        }
        let entry = names.entry(name.to_string()).or_insert(Entry {
            failures: 0,
            locked_until: None,
        });
        if entry.locked_until.is_some_and(|u| u <= Instant::now()) {
            *entry = Entry {
                failures: 0,
                locked_until: None,
            };
        }
        entry.failures += 1;
        if entry.failures >= self.attempts {
            entry.locked_until = Some(Instant::now() + self.duration);
        }
    }

    pub fn succeeded(&self, name: &str) {
        self.names.lock().expect("lockout lock").remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_attempts_and_unlocks_after_duration() {
        let l = Lockout::new(3, Duration::from_millis(50));
        l.failed("a");
        l.failed("a");
        assert!(l.locked("a").is_none());
        l.failed("a");
        assert!(l.locked("a").is_some());
        assert!(l.locked("b").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.locked("a").is_none());
        l.failed("a");
        assert!(l.locked("a").is_none(), "the count starts again");
    }
}
