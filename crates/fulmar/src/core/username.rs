//! Usernames of local accounts, by Mastodon's rules.

use std::fmt;

/// A valid local username: 1 to 30 ASCII letters, digits or underscores. Case is kept
/// for display; lookups compare case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

pub const MAX_LEN: usize = 30;

impl Username {
    pub fn parse(text: &str) -> Result<Username, String> {
        if text.is_empty() {
            return Err("Username can't be blank".into());
        }
        if text.chars().count() > MAX_LEN {
            return Err(format!(
                "Username is too long (maximum is {MAX_LEN} characters)"
            ));
        }
        if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err("Username must contain only letters, numbers and underscores".into());
        }
        Ok(Username(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_mastodon_usernames() {
        for ok in ["alice", "Bob_2", "_", "a23456789012345678901234567890"] {
            assert_eq!(Username::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "a234567890123456789012345678901",
            "al ice",
            "alice@example.org",
            "al-ice",
            "al.ice",
            "élise",
            "alice\n",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }
}
