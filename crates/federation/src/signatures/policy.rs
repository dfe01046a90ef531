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

/// Parses an HTTP `Date` value into unix seconds.
///
/// The IMF-fixdate form (`Wed, 20 Dec 2023 10:00:00 GMT`, RFC 9110 §5.6.7) is read without
/// checking the day name against the date: it is redundant, Ruby's `Time.httpdate` (and so
/// Mastodon) ignores it, and a sender that gets it wrong has still stated its time. The
/// obsolete RFC 850 and asctime forms are left to the `httpdate` crate.
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    parse_imf_fixdate(value.trim())
        .or_else(|| httpdate::parse_http_date(value.trim()).ok().map(unix_secs))
}

fn parse_imf_fixdate(s: &str) -> Option<i64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let (_day_name, rest) = s.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u32 = digits(parts.next()?, 2)?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: u32 = digits(parts.next()?, 4)?;
    let mut clock = parts.next()?.split(':');
    let hour: u32 = digits(clock.next()?, 2)?;
    let minute: u32 = digits(clock.next()?, 2)?;
    let second: u32 = digits(clock.next()?, 2)?;
    if clock.next().is_some() || parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let month_len = days_from_civil(i64::from(next_year), next_month, 1)
        - days_from_civil(i64::from(year), month, 1);
    if day == 0 || i64::from(day) > month_len || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

fn digits(s: &str, len: usize) -> Option<u32> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_with_or_without_a_correct_day_name() {
        assert_eq!(parse_http_date("Wed, 20 Dec 2023 10:00:00 GMT"), Some(NOW));
        // Mastodon's "older than a day" case says Wed for a Monday; Ruby reads it anyway.
        assert_eq!(
            parse_http_date("Wed, 18 Dec 2023 10:00:00 GMT"),
            Some(NOW - 2 * 86_400)
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Sun Nov  6 08:49:37 1994"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"),
            Some(1_709_164_800)
        );
        for bad in [
            "wrong date",
            "",
            "Thu, 30 Feb 2024 00:00:00 GMT",
            "Wed, 20 Dec 2023 24:00:00 GMT",
            "Wed, 20 Dec 2023 10:00:00 UTC",
            "Wed, 20 Foo 2023 10:00:00 GMT",
            "Wed, 2 Dec 2023 10:00:00 GMT",
            "Wed, 20 Dec 2023 10:00 GMT",
            "Wed, 20 Dec 2023 10:00:00 GMT extra",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

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
        assert!(p
            .check_time(NOW - 6 * 3600, Some(NOW + 86_400), NOW)
            .is_ok());
        assert!(p
            .check_time(NOW - 13 * 3600 - 1, Some(NOW + 86_400), NOW)
            .is_err());
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let p = Policy::default();
        assert!(p.check_time(i64::MAX, Some(i64::MAX), NOW).is_err());
        assert!(p.check_time(i64::MIN, Some(i64::MIN), NOW).is_err());
        assert!(p.check_time(i64::MIN, None, i64::MAX).is_err());
    }
}
