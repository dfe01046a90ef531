//! OAuth scopes as Mastodon defines them, top-level and granular.

use std::fmt;

/// Every scope Mastodon knows. A token may carry only these.
pub const KNOWN: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
    "admin:read",
    "admin:write",
    "admin:read:accounts",
    "admin:read:reports",
    "admin:read:domain_allows",
    "admin:read:domain_blocks",
    "admin:read:ip_blocks",
    "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write:accounts",
    "admin:write:reports",
    "admin:write:domain_allows",
    "admin:write:domain_blocks",
    "admin:write:ip_blocks",
    "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
];

/// The legacy `follow` scope grants these granular scopes.
const FOLLOW_IMPLIES: &[&str] = &[
    "read:follows",
    "write:follows",
    "read:blocks",
    "write:blocks",
    "read:mutes",
    "write:mutes",
];

/// A checked, de-duplicated set of scopes, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-separated scope list (`+` separators, as some clients send them,
    /// are accepted too). An empty list means `read`, as in Mastodon.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut out: Vec<String> = Vec::new();
        for s in text.split([' ', '+']).filter(|s| !s.is_empty()) {
            if !KNOWN.contains(&s) {
                return Err(format!("unknown scope {s:?}"));
            }
            if !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        if out.is_empty() {
            out.push("read".into());
        }
        Ok(Scopes(out))
    }

    /// True when these scopes grant `required`: the scope itself, its top-level parent
    /// (`read` grants `read:statuses`, `admin:read` grants `admin:read:accounts`), or
    /// the legacy `follow` scope for follow-related granular scopes.
    pub fn allows(&self, required: &str) -> bool {
        self.0.iter().any(|have| {
            have == required
                || required
                    .strip_prefix(have.as_str())
                    .is_some_and(|rest| rest.starts_with(':'))
                || (have == "follow" && FOLLOW_IMPLIES.contains(&required))
        })
    }

    /// True when every scope here is also granted by `other` (a token may ask for no
    /// more than its app registered).
    pub fn within(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.allows(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            Scopes::parse("read write follow push").unwrap().to_string(),
            "read write follow push"
        );
        assert_eq!(
            Scopes::parse("read+write  read").unwrap().to_string(),
            "read write"
        );
        assert_eq!(Scopes::parse("").unwrap().to_string(), "read");
        assert!(Scopes::parse("read delete_everything").is_err());
    }

    #[test]
    fn granular_scopes_follow_their_parents() {
        let s = Scopes::parse("read write:favourites follow admin:read").unwrap();
        assert!(s.allows("read:statuses"));
        assert!(s.allows("write:favourites"));
        assert!(!s.allows("write:statuses"));
        assert!(s.allows("write:follows"));
        assert!(s.allows("admin:read:accounts"));
        assert!(!s.allows("admin:write:accounts"));
        // A prefix that is not a parent grants nothing.
        assert!(!Scopes::parse("read:statuses").unwrap().allows("read"));
        assert!(!Scopes::parse("write").unwrap().allows("write_all"));
    }

    #[test]
    fn within_checks_subsets() {
        let app = Scopes::parse("read write").unwrap();
        assert!(Scopes::parse("read:statuses write").unwrap().within(&app));
        assert!(!Scopes::parse("read follow").unwrap().within(&app));
    }
}
