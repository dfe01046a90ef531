//! Times are milliseconds since the Unix epoch everywhere below the API layer.

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 with milliseconds and `Z`, the form Mastodon and ActivityPub peers expect
/// (`2019-12-08T03:48:33.901Z`).
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// RFC 3339 to whole seconds with `Z`, the form Mastodon uses in ActivityPub
/// documents (`published`).
pub fn rfc3339_s(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_z() {
        assert_eq!(rfc3339_ms(1_575_776_913_901), "2019-12-08T03:48:33.901Z");
        assert_eq!(rfc3339_s(1_575_776_913_901), "2019-12-08T03:48:33Z");
    }
}
