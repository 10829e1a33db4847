//! Who may see the dashboard: HMAC-signed one-time login links bound to a moderator, sessions
//! held in memory, and a CSRF token per session.
//!
//! A link is `moderator.expiry.nonce.signature`: the signature (HMAC-SHA256 under the key)
//! makes it unforgeable, the expiry (10 minutes) makes it stale, and the nonce, removed from
//! the issued set on first use, makes it single-use. Issued links and sessions live in this
//! process only: a restart invalidates them all, which errs on the safe side.

use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a login link stays valid.
pub const LINK_TTL_SECS: u64 = 600;
/// How long a session lasts.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;
/// Bounds on what memory holds: issued links and sessions beyond these push out the oldest.
const MAX_ISSUED: usize = 1_000;
const MAX_SESSIONS: usize = 1_000;

/// The moderator a link and a session belong to: their Discord user id and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderator {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub moderator: Moderator,
    /// Carried by every form that changes state.
    pub csrf: String,
    pub expires: u64,
}

/// Why a login link was refused (said on the 401 page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    #[error("this login link is malformed or its signature is wrong")]
    Invalid,
    #[error("this login link has expired (links are valid for 10 minutes)")]
    Expired,
    #[error("this login link was already used, or was issued before the dashboard restarted")]
    Used,
}

pub struct Auth {
    key: Vec<u8>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// nonce -> (moderator, expiry)
    issued: HashMap<String, (Moderator, u64)>,
    /// session id -> session
    sessions: HashMap<String, Session>,
}

impl Auth {
    pub fn new(key: Vec<u8>) -> Self {
        Auth {
            key,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn sign(&self, payload: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(payload.as_bytes());
        mac
    }

    /// A new one-time login token for `moderator`, valid for [`LINK_TTL_SECS`] from `now`.
    pub fn issue(&self, moderator: Moderator, now: u64) -> String {
        let nonce = random_hex(16);
        let expires = now + LINK_TTL_SECS;
        let payload = format!("{}.{expires}.{nonce}", moderator.id);
        let signature = hex(&self.sign(&payload).finalize().into_bytes());
        let mut state = self.state();
        state.issued.retain(|_, (_, exp)| *exp >= now);
        if state.issued.len() >= MAX_ISSUED {
            if let Some(oldest) = oldest(&state.issued, |(_, exp)| *exp) {
                state.issued.remove(&oldest);
            }
        }
        state.issued.insert(nonce, (moderator, expires));
        format!("{payload}.{signature}")
    }

    /// Redeems a login token: a new session (its id and contents), or why not.
    pub fn redeem(&self, token: &str, now: u64) -> Result<(String, Session), LinkRefused> {
        let (payload, signature) = token.rsplit_once('.').ok_or(LinkRefused::Invalid)?;
        let signature = unhex(signature).ok_or(LinkRefused::Invalid)?;
        // Constant-time comparison.
        self.sign(payload)
            .verify_slice(&signature)
            .map_err(|_| LinkRefused::Invalid)?;
        let mut parts = payload.splitn(3, '.');
        let id: u64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(LinkRefused::Invalid)?;
        let expires: u64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or(LinkRefused::Invalid)?;
        let nonce = parts.next().ok_or(LinkRefused::Invalid)?;
        if now > expires {
            return Err(LinkRefused::Expired);
        }
        let mut state = self.state();
        let (moderator, _) = state.issued.remove(nonce).ok_or(LinkRefused::Used)?;
        if moderator.id != id {
            return Err(LinkRefused::Invalid);
        }
        let session = Session {
            moderator,
            csrf: random_hex(32),
            expires: now + SESSION_TTL_SECS,
        };
        state.sessions.retain(|_, s| s.expires >= now);
        if state.sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = oldest(&state.sessions, |s| s.expires) {
                state.sessions.remove(&oldest);
            }
        }
        let id = random_hex(32);
        state.sessions.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session with this id.
    pub fn session(&self, id: &str, now: u64) -> Option<Session> {
        let mut state = self.state();
        match state.sessions.get(id) {
            Some(s) if s.expires >= now => Some(s.clone()),
            Some(_) => {
                state.sessions.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn logout(&self, id: &str) {
        self.state().sessions.remove(id);
    }
}

fn oldest<V>(map: &HashMap<String, V>, expiry: impl Fn(&V) -> u64) -> Option<String> {
    map.iter()
        .min_by_key(|(_, v)| expiry(v))
        .map(|(k, _)| k.clone())
}

/// Equal strings, compared in constant time (CSRF tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` random bytes from the operating system, as hex.
pub fn random_hex(bytes: usize) -> String {
    hex(&random_bytes(bytes))
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    // The OS generator failing is not recoverable; a predictable key would be worse.
    if let Err(e) = getrandom::getrandom(&mut buf) {
        panic!("the operating system's random generator failed: {e}");
    }
    buf
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moderator() -> Moderator {
        Moderator {
            id: 42,
            name: "mod".into(),
        }
    }

    #[test]
    fn a_link_works_once() {
        let auth = Auth::new(b"key".to_vec());
        let token = auth.issue(moderator(), 1_000);
        let (id, session) = auth.redeem(&token, 1_001).expect("first use");
        assert_eq!(session.moderator, moderator());
        assert!(auth.session(&id, 1_002).is_some());
        assert_eq!(auth.redeem(&token, 1_002).unwrap_err(), LinkRefused::Used);
    }

    #[test]
    fn a_stale_link_is_refused() {
        let auth = Auth::new(b"key".to_vec());
        let token = auth.issue(moderator(), 1_000);
        assert_eq!(
            auth.redeem(&token, 1_000 + LINK_TTL_SECS + 1).unwrap_err(),
            LinkRefused::Expired
        );
    }

    #[test]
    fn a_changed_or_foreign_link_is_refused() {
        let auth = Auth::new(b"key".to_vec());
        let token = auth.issue(moderator(), 1_000);
        // Another moderator's id, or a later expiry, breaks the signature.
        let forged = token.replacen("42.", "43.", 1);
        assert_eq!(
            auth.redeem(&forged, 1_001).unwrap_err(),
            LinkRefused::Invalid
        );
        let other = Auth::new(b"other key".to_vec());
        assert_eq!(
            other.redeem(&token, 1_001).unwrap_err(),
            LinkRefused::Invalid
        );
        assert_eq!(
            auth.redeem("nonsense", 1_001).unwrap_err(),
            LinkRefused::Invalid
        );
    }

    #[test]
    fn sessions_expire_and_log_out() {
        let auth = Auth::new(b"key".to_vec());
        let (id, _) = auth.redeem(&auth.issue(moderator(), 0), 0).unwrap();
        assert!(auth.session(&id, SESSION_TTL_SECS).is_some());
        assert!(auth.session(&id, SESSION_TTL_SECS + 1).is_none());
        let (id, _) = auth.redeem(&auth.issue(moderator(), 0), 0).unwrap();
        auth.logout(&id);
        assert!(auth.session(&id, 1).is_none());
    }

    #[test]
    fn csrf_comparison() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
