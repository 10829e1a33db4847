//! The probe's limits: allowed ports, private targets, time and byte budgets, rate limits.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::diagnose::PortConventions;

/// The mail ports the bot tests unless configured otherwise.
pub const DEFAULT_PORTS: [u16; 6] = [143, 993, 25, 465, 587, 2525];

/// At most `max` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: usize,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub allowed_ports: BTreeSet<u16>,
    /// Permits loopback and private targets. For tests only: never settable from Discord.
    pub allow_private: bool,
    /// Total time for one request, alternatives and discovery included.
    pub budget: Duration,
    /// Longest wait for any one step (connect, handshake, one reply), so that one silent step
    /// leaves time for the alternatives.
    pub step_timeout: Duration,
    /// Most bytes read from one connection.
    pub max_read_bytes: usize,
    pub per_requester: RateLimit,
    pub per_target: RateLimit,
    pub ports: PortConventions,
    /// Delay between the starts of parallel attempts (alternatives, discovery), so that a
    /// server is not hit by a burst.
    pub stagger: Duration,
    /// The DNS server (`IP:PORT`) to ask instead of the system's resolver.
    pub resolver: Option<std::net::SocketAddr>,
    /// How long a plain attempt waits for a first byte before a TLS attempt on the same port
    /// starts beside it: a server that stays silent may be waiting for a ClientHello.
    pub silence: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allowed_ports: DEFAULT_PORTS.into_iter().collect(),
            allow_private: false,
            budget: Duration::from_secs(10),
            step_timeout: Duration::from_secs(4),
            max_read_bytes: 64 * 1024,
            per_requester: RateLimit {
                max: 10,
                window: Duration::from_secs(60),
            },
            per_target: RateLimit {
                max: 20,
                window: Duration::from_secs(60),
            },
            ports: PortConventions::default(),
            stagger: Duration::from_millis(100),
            resolver: None,
            silence: Duration::from_millis(300),
        }
    }
}

/// Sliding-window counters per key. Memory stays bounded: keys whose window has passed are
/// dropped, and past `MAX_KEYS` live keys a new key is refused rather than remembered.
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

const MAX_KEYS: usize = 10_000;

impl RateLimiter {
    /// Counts one event for every key, or none when any key is over its limit.
    pub fn admit(&self, keys: &[(&str, RateLimit)]) -> bool {
        let now = Instant::now();
        // A poisoned lock only means another probe panicked mid-update; the counters are
        // still usable.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > MAX_KEYS / 2 {
            let longest = keys.iter().map(|(_, l)| l.window).max().unwrap_or_default();
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < longest)
            });
        }
        for (key, limit) in keys {
            let times = seen.get_mut(*key);
            let recent = times.map_or(0, |times| {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= limit.window)
                {
                    times.pop_front();
                }
                times.len()
            });
            if recent >= limit.max || (recent == 0 && seen.len() >= MAX_KEYS) {
                return false;
            }
        }
        for (key, _) in keys {
            seen.entry((*key).to_string()).or_default().push_back(now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_per_key_and_refusals_are_not_counted() {
        let limiter = RateLimiter::default();
        let two = RateLimit {
            max: 2,
            window: Duration::from_secs(60),
        };
        let many = RateLimit {
            max: 100,
            window: Duration::from_secs(60),
        };
        assert!(limiter.admit(&[("requester:a", two), ("target:x", many)]));
        assert!(limiter.admit(&[("requester:a", two), ("target:y", many)]));
        assert!(!limiter.admit(&[("requester:a", two), ("target:z", many)]));
        // The refusal above did not count against target z.
        assert!(limiter.admit(&[("requester:b", two), ("target:z", two)]));
        assert!(limiter.admit(&[("requester:c", two), ("target:z", two)]));
        assert!(!limiter.admit(&[("requester:d", two), ("target:z", two)]));
    }

    #[test]
    fn the_window_slides() {
        let limiter = RateLimiter::default();
        let one = RateLimit {
            max: 1,
            window: Duration::from_millis(1),
        };
        assert!(limiter.admit(&[("k", one)]));
        std::thread::sleep(Duration::from_millis(5));
        assert!(limiter.admit(&[("k", one)]));
    }
}
