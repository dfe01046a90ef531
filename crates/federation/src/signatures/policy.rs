//! What Fulmar requires of an incoming signature beyond its cryptographic validity: the
//! time window and the minimum coverage.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SignatureError;

/// The verifier's requirements. [`Policy::default`] is Fulmar's production setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How far the signer's clock may be off from ours, in either direction. Mastodon's
    /// `CLOCK_SKEW_MARGIN` in `app/lib/signed_request.rb`: one hour. A signature dated
    /// further in the future is refused, and the expiry below is extended by this much.
    pub clock_skew_margin: Duration,
    /// How long a signature without `expires` stays valid after its Date or `created`:
    /// five minutes, as Mastodon assumes (`expires_time ||= created_time + 5.minutes`).
    /// With the skew margin this accepts a Date up to 65 minutes old, which is the
    /// "about an hour" that peers expect.
    pub default_validity: Duration,
    /// The longest validity honoured whatever `expires` claims: Mastodon's
    /// `EXPIRATION_WINDOW_LIMIT`, twelve hours, so a signature cannot be made replayable
    /// for days by a far-off `expires`.
    pub max_validity: Duration,
    /// Grace allowed after an explicit `expires` time. Zero: when the signer states when
    /// its signature ends (Threads signs for about five minutes), Fulmar takes it at its
    /// word. Mastodon is laxer and adds the skew margin here too; raise this to match it.
    pub expires_leeway: Duration,
    /// Whether to enforce the fediverse coverage rules (`(request-target)`, `host`, `date`
    /// or `(created)`, `digest` for draft-cavage; `@method`, `@target-uri` or `@authority`
    /// with `@path`, `content-digest` for RFC 9421). Only tests of published vectors that
    /// cover less turn this off.
    pub require_coverage: bool,
    /// The RFC 9421 signature label to verify when a request carries several; the first
    /// label of `Signature-Input` is used when this is unset or absent from the request.
    pub preferred_label: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            clock_skew_margin: Duration::from_secs(60 * 60),
            default_validity: Duration::from_secs(5 * 60),
            max_validity: Duration::from_secs(12 * 60 * 60),
            expires_leeway: Duration::ZERO,
            require_coverage: true,
            preferred_label: None,
        }
    }
}

impl Policy {
    /// Checks a signature's creation and expiry times (unix seconds) against `now`,
    /// following Mastodon's `matches_time_window?`, plus a strict explicit `expires`.
    pub(crate) fn check_time(
        &self,
        created: i64,
        expires: Option<i64>,
        now: i64,
    ) -> Result<(), SignatureError> {
        let skew = secs(self.clock_skew_margin);
        if created > now.saturating_add(skew) {
            return Err(SignatureError::FromTheFuture {
                signed_at: created,
                ahead_secs: created.saturating_sub(now),
            });
        }
        if let Some(expires) = expires {
            self.check_expires(expires, now)?;
        }
        let valid_until = expires
            .unwrap_or_else(|| created.saturating_add(secs(self.default_validity)))
            .min(created.saturating_add(secs(self.max_validity)));
        if now > valid_until.saturating_add(skew) {
            return Err(SignatureError::Stale {
                signed_at: created,
                age_secs: now.saturating_sub(created),
            });
        }
        Ok(())
    }
}

impl Policy {
    /// Refuses a signature whose explicit `expires` time has passed (RFC 9421 §2.3 and
    /// draft-cavage-12 §2.1.5 both let the verifier do so).
    pub(crate) fn check_expires(&self, expires: i64, now: i64) -> Result<(), SignatureError> {
        if now > expires.saturating_add(secs(self.expires_leeway)) {
            return Err(SignatureError::Expired {
                expires,
                ago_secs: now.saturating_sub(expires),
            });
        }
        Ok(())
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Unix seconds of a `SystemTime`, negative before 1970.
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => secs(d),
        Err(e) => -secs(e.duration()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_703_066_400; // 2023-12-20T10:00:00Z, the time of Mastodon's spec

    #[test]
    fn date_only_signatures_live_five_minutes_plus_an_hour_of_skew() {
        let p = Policy::default();
        assert!(p.check_time(NOW, None, NOW).is_ok());
        assert!(p.check_time(NOW - 65 * 60, None, NOW).is_ok());
        assert!(matches!(
            p.check_time(NOW - 65 * 60 - 1, None, NOW),
            Err(SignatureError::Stale { .. })
        ));
        // Mastodon's "older than a day" case.
        assert!(p.check_time(NOW - 2 * 86_400, None, NOW).is_err());
        assert!(p.check_time(NOW + 60 * 60, None, NOW).is_ok());
        assert!(matches!(
            p.check_time(NOW + 60 * 60 + 1, None, NOW),
            Err(SignatureError::FromTheFuture { .. })
        ));
    }

    #[test]
    fn explicit_expires_is_strict_and_capped_at_twelve_hours() {
        let p = Policy::default();
        assert!(p.check_time(NOW - 10, Some(NOW), NOW).is_ok());
        assert!(matches!(
            p.check_time(NOW - 10, Some(NOW - 1), NOW),
            Err(SignatureError::Expired { .. })
        ));
        // A long `expires` extends validity, but never past 12 h (+ skew) after creation.
        assert!(p.check_time(NOW - 6 * 3600, Some(NOW + 86_400), NOW).is_ok());
        assert!(p.check_time(NOW - 13 * 3600 - 1, Some(NOW + 86_400), NOW).is_err());
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let p = Policy::default();
        assert!(p.check_time(i64::MAX, Some(i64::MAX), NOW).is_err());
        assert!(p.check_time(i64::MIN, Some(i64::MIN), NOW).is_err());
        assert!(p.check_time(i64::MIN, None, i64::MAX).is_err());
    }
}
