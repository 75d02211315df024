//! Token service answers and the token cache.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;

use crate::reference::Scope;
use crate::secret::Secret;

/// How long a token lives when the token service does not say (`expires_in` absent).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_mins(1);

/// The longest a token is refreshed ahead of its expiry.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// A token handed out by a registry's token service.
#[derive(Debug, Clone)]
pub struct Token {
    /// The bearer token (`token`, or `access_token` when only that is present).
    pub value: Secret,
    /// How long the token is valid from the moment it was issued.
    pub lifetime: Duration,
    /// When the token service says it issued the token, if it said.
    pub issued_at: Option<SystemTime>,
}

#[derive(Deserialize)]
struct TokenBody {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    issued_at: Option<String>,
}

impl Token {
    /// Reads a token service answer. `token` wins over `access_token` (both mean the same
    /// thing); `expires_in` defaults to 60 s; `issued_at` is RFC 3339.
    ///
    /// ```
    /// use wharf_oci_core::auth::Token;
    ///
    /// let token = Token::from_json(br#"{"access_token":"abc","expires_in":300}"#).unwrap();
    /// assert_eq!(token.value.expose(), "abc");
    /// assert_eq!(token.lifetime.as_secs(), 300);
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let body: TokenBody =
            serde_json::from_slice(body).map_err(|e| format!("unreadable token answer: {e}"))?;
        let value = body
            .token
            .filter(|t| !t.is_empty())
            .or(body.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| "answer has neither `token` nor `access_token`".to_owned())?;
        let lifetime = body
            .expires_in
            .filter(|seconds| *seconds > 0)
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        let issued_at = body.issued_at.as_deref().and_then(parse_rfc3339);
        Ok(Self {
            value: Secret::new(value),
            lifetime,
            issued_at,
        })
    }

    /// How long the token remains usable when it was received at `received` (system time
    /// `now_system`): the lifetime counted from `issued_at` when the server gave one that is
    /// not in the future, otherwise from reception.
    pub fn remaining(&self, now_system: SystemTime) -> Duration {
        match self.issued_at {
            Some(issued) if issued <= now_system => {
                let age = now_system.duration_since(issued).unwrap_or_default();
                self.lifetime.saturating_sub(age)
            }
            _ => self.lifetime,
        }
    }
}

/// A small RFC 3339 reader (`2024-01-02T03:04:05[.fff](Z|±hh:mm)`), enough for `issued_at`.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, rest) = text.split_once(['T', 't'])?;
    let mut date_parts = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    let time_end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(time_end);
    let clock = clock.split('.').next()?;
    let mut clock_parts = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
    );
    let offset = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let seconds = u64::try_from(seconds).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The key a token is cached under: the registry and the exact scope set it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    registry: String,
    scopes: BTreeSet<Scope>,
}

impl TokenKey {
    pub(crate) fn new(registry: &str, scopes: &[Scope]) -> Self {
        Self {
            registry: registry.to_owned(),
            scopes: scopes.iter().cloned().collect(),
        }
    }
}

struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

/// Tokens by registry and scope set, each dropped a little before it expires.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: HashMap<TokenKey, CachedToken>,
}

impl TokenCache {
    /// A live token for exactly `key`, or one for the same registry whose scopes cover it.
    pub(crate) fn get(&self, key: &TokenKey, now: Instant) -> Option<Secret> {
        if let Some(hit) = self.tokens.get(key).filter(|t| t.refresh_at > now) {
            return Some(hit.value.clone());
        }
        self.tokens
            .iter()
            .filter(|(cached, token)| cached.registry == key.registry && token.refresh_at > now)
            .find(|(cached, _)| covers_all(&cached.scopes, &key.scopes))
            .map(|(_, token)| token.value.clone())
    }

    /// Stores a token that stays usable for `remaining`; it is refreshed ahead of that by a
    /// fifth of its lifetime (at most 30 s).
    pub(crate) fn insert(
        &mut self,
        key: TokenKey,
        value: Secret,
        remaining: Duration,
        now: Instant,
    ) {
        let margin = (remaining / 5).min(MAX_REFRESH_MARGIN);
        let refresh_at = now + remaining.saturating_sub(margin);
        self.tokens.retain(|_, token| token.refresh_at > now);
        self.tokens.insert(key, CachedToken { value, refresh_at });
    }

    /// Forgets every token of `registry`.
    pub(crate) fn forget_registry(&mut self, registry: &str) {
        self.tokens.retain(|key, _| key.registry != registry);
    }

    /// Forgets one token.
    pub(crate) fn forget(&mut self, key: &TokenKey) {
        self.tokens.remove(key);
    }
}

fn covers_all(granted: &BTreeSet<Scope>, wanted: &BTreeSet<Scope>) -> bool {
    wanted
        .iter()
        .all(|want| granted.iter().any(|have| have.covers(want)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    #[test]
    fn token_or_access_token_and_default_lifetime() {
        let token = Token::from_json(br#"{"token":"t1","access_token":"t2"}"#).unwrap();
        assert_eq!(token.value.expose(), "t1");
        assert_eq!(token.lifetime, DEFAULT_TOKEN_LIFETIME);
        let token = Token::from_json(br#"{"access_token":"t2","expires_in":0}"#).unwrap();
        assert_eq!(token.value.expose(), "t2");
        assert_eq!(token.lifetime, DEFAULT_TOKEN_LIFETIME);
        assert!(Token::from_json(br#"{"expires_in":10}"#).is_err());
        assert!(Token::from_json(b"not json").is_err());
    }

    #[test]
    fn issued_at_shortens_the_remaining_lifetime() {
        let body = br#"{"token":"t","expires_in":300,"issued_at":"2024-01-01T00:00:00Z"}"#;
        let token = Token::from_json(body).unwrap();
        let issued = token.issued_at.unwrap();
        assert_eq!(
            issued
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_704_067_200
        );
        assert_eq!(
            token.remaining(issued + Duration::from_secs(100)),
            Duration::from_secs(200)
        );
        assert_eq!(
            token.remaining(issued + Duration::from_secs(400)),
            Duration::ZERO
        );
        // An issue time in the future (clock skew) is ignored.
        assert_eq!(
            token.remaining(issued - Duration::from_secs(50)),
            Duration::from_mins(5)
        );
    }

    #[test]
    fn rfc3339_with_fraction_and_offset() {
        let a = parse_rfc3339("2024-01-01T02:00:00.123+02:00").unwrap();
        let b = parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn cache_hits_exact_and_covering_scopes_and_expires_early() {
        let mut cache = TokenCache::default();
        let now = Instant::now();
        let wide = TokenKey::new("r:5000", &[scope("repository:a:pull,push")]);
        cache.insert(wide, Secret::new("tok"), Duration::from_mins(1), now);

        let narrow = TokenKey::new("r:5000", &[scope("repository:a:pull")]);
        assert_eq!(cache.get(&narrow, now).unwrap().expose(), "tok");
        let other = TokenKey::new("r:5000", &[scope("repository:b:pull")]);
        assert!(cache.get(&other, now).is_none());
        let other_registry = TokenKey::new("s:5000", &[scope("repository:a:pull")]);
        assert!(cache.get(&other_registry, now).is_none());

        // Refreshed 12 s (a fifth of 60 s) before expiry.
        assert!(cache.get(&narrow, now + Duration::from_secs(47)).is_some());
        assert!(cache.get(&narrow, now + Duration::from_secs(49)).is_none());

        cache.forget_registry("r:5000");
        assert!(cache.get(&narrow, now).is_none());
    }
}
