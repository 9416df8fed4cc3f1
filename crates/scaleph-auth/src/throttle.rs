//! Failed-login throttling: after `max_per_user` failures for one user name, or `max_per_ip`
//! from one source address, within `window`, further attempts are refused until the oldest
//! failure leaves the window. Refused attempts do not check the password. State is in memory
//! (one server process); a successful login clears the user's failures.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    /// Failures per user name within `window` before refusing (default 5).
    pub max_per_user: usize,
    /// Failures per source address within `window` before refusing (default 20).
    pub max_per_ip: usize,
    /// Sliding window (default 15 minutes).
    pub window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_per_user: 5,
            max_per_ip: 20,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// A refused attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    /// `"user"` or `"address"`: which limit was hit.
    pub by: &'static str,
    /// When the next attempt may be made.
    pub retry_after: Duration,
}

#[derive(Hash, PartialEq, Eq)]
enum Key {
    User(String),
    Ip(IpAddr),
}

/// The throttle; share one per server.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    cfg: ThrottleConfig,
    failures: Mutex<HashMap<KeyBox, VecDeque<Instant>>>,
}

/// Map key wrapper (keeps `Key` private while deriving Debug for the throttle).
#[derive(Hash, PartialEq, Eq)]
struct KeyBox(Key);

impl std::fmt::Debug for KeyBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Key::User(_) => f.write_str("user"),
            Key::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl LoginThrottle {
    /// A throttle with `cfg`.
    pub fn new(cfg: ThrottleConfig) -> Self {
        Self {
            cfg,
            failures: Mutex::default(),
        }
    }

    /// Refuses when either limit is reached; call before checking the password.
    ///
    /// # Errors
    /// [`Throttled`] naming the limit and when to retry.
    pub fn check(&self, user: &str, ip: IpAddr) -> Result<(), Throttled> {
        let now = Instant::now();
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (key, max, by) in [
            (
                Key::User(user.to_lowercase()),
                self.cfg.max_per_user,
                "user",
            ),
            (Key::Ip(ip), self.cfg.max_per_ip, "address"),
        ] {
            if let Some(q) = m.get_mut(&KeyBox(key)) {
                while q
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.cfg.window)
                {
                    q.pop_front();
                }
                if q.len() >= max {
                    let oldest = q[q.len() - max];
                    return Err(Throttled {
                        by,
                        retry_after: self.cfg.window.saturating_sub(now.duration_since(oldest)),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str, ip: IpAddr) {
        let now = Instant::now();
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            let w = self.cfg.window;
            m.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < w));
        }
        for key in [Key::User(user.to_lowercase()), Key::Ip(ip)] {
            m.entry(KeyBox(key)).or_default().push_back(now);
        }
    }

    /// Clears the user's failures after a successful login (the address keeps its count).
    pub fn succeeded(&self, user: &str) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(&KeyBox(Key::User(user.to_lowercase())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_the_limit_per_user_and_per_address() {
        let t = LoginThrottle::new(ThrottleConfig {
            max_per_user: 3,
            max_per_ip: 5,
            window: Duration::from_secs(60),
        });
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(t.check("alice", a).is_ok());
            t.failed("alice", a);
        }
        let e = t.check("Alice", b).unwrap_err();
        assert_eq!(e.by, "user");
        assert!(e.retry_after > Duration::from_secs(50));
        assert!(t.check("bob", a).is_ok());
        t.failed("bob", a);
        t.failed("carol", a);
        assert_eq!(t.check("dave", a).unwrap_err().by, "address");
        assert!(t.check("dave", b).is_ok());
        t.succeeded("alice");
        assert!(t.check("alice", b).is_ok());
    }

    #[test]
    fn failures_leave_the_window() {
        let t = LoginThrottle::new(ThrottleConfig {
            max_per_user: 1,
            max_per_ip: 10,
            window: Duration::from_millis(30),
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        t.failed("x", a);
        assert!(t.check("x", a).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(t.check("x", a).is_ok());
    }
}
