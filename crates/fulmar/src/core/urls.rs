//! The URLs of this server's own objects. Every URL Fulmar publishes is built here, so
//! the scheme (https, or http in development mode) and the paths are decided once.

#[derive(Clone, Debug)]
pub struct Urls {
    base: String,
    domain: String,
}

impl Urls {
    pub fn new(scheme: &str, domain: &str) -> Urls {
        Urls {
            base: format!("{scheme}://{domain}"),
            domain: domain.to_owned(),
        }
    }

    /// `https://domain`, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The configured domain, with port when it has one.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn actor(&self, username: &str) -> String {
        format!("{}/users/{username}", self.base)
    }

    pub fn key_id(&self, username: &str) -> String {
        format!("{}#main-key", self.actor(username))
    }

    pub fn profile(&self, username: &str) -> String {
        format!("{}/@{username}", self.base)
    }

    pub fn inbox(&self, username: &str) -> String {
        format!("{}/inbox", self.actor(username))
    }

    pub fn outbox(&self, username: &str) -> String {
        format!("{}/outbox", self.actor(username))
    }

    pub fn followers(&self, username: &str) -> String {
        format!("{}/followers", self.actor(username))
    }

    pub fn following(&self, username: &str) -> String {
        format!("{}/following", self.actor(username))
    }

    pub fn featured(&self, username: &str) -> String {
        format!("{}/collections/featured", self.actor(username))
    }

    pub fn featured_tags(&self, username: &str) -> String {
        format!("{}/collections/tags", self.actor(username))
    }

    pub fn shared_inbox(&self) -> String {
        format!("{}/inbox", self.base)
    }

    pub fn status(&self, username: &str, id: i64) -> String {
        format!("{}/statuses/{id}", self.actor(username))
    }

    /// A QuoteAuthorization issued by `username` (FEP-044f), at the path Mastodon uses.
    pub fn quote_authorization(&self, username: &str, id: i64) -> String {
        format!("{}/quote_authorizations/{id}", self.actor(username))
    }

    pub fn status_page(&self, username: &str, id: i64) -> String {
        format!("{}/{id}", self.profile(username))
    }

    /// The instance actor (FEP-2677), which signs requests no user is behind.
    pub fn instance_actor(&self) -> String {
        format!("{}/actor", self.base)
    }

    pub fn instance_actor_key_id(&self) -> String {
        format!("{}#main-key", self.instance_actor())
    }

    /// The remote-follow template advertised in WebFinger.
    pub fn subscribe_template(&self) -> String {
        format!("{}/authorize_interaction?uri={{uri}}", self.base)
    }

    /// A hashtag's page. The name is percent-encoded as a path segment, the way Rails
    /// encodes it in Mastodon's links, so `#日本語` links to `/tags/%E6%97%A5…` both in
    /// post content and in the `tags` of a Status.
    pub fn tag(&self, name: &str) -> String {
        let mut segment = String::with_capacity(name.len());
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
                segment.push(b as char);
            } else {
                segment.push_str(&format!("%{b:02X}"));
            }
        }
        format!("{}/tags/{segment}", self.base)
    }

    /// Mastodon's default avatar and header, served by Fulmar so that URL fields are
    /// never empty.
    pub fn default_avatar(&self) -> String {
        format!("{}/avatars/original/missing.png", self.base)
    }

    pub fn default_header(&self) -> String {
        format!("{}/headers/original/missing.png", self.base)
    }

    /// The instance thumbnail of the instance entities.
    pub fn instance_thumbnail(&self) -> String {
        format!("{}/images/preview.png", self.base)
    }

    /// Where the streaming API is (`wss://`, or `ws://` in development mode).
    pub fn streaming(&self) -> String {
        match self.base.strip_prefix("http") {
            Some(rest) => format!("ws{rest}"),
            None => self.base.clone(),
        }
    }

    /// Recognises one of our own actor or profile URLs and returns the username.
    pub fn username_of(&self, url: &str) -> Option<String> {
        let path = url.strip_prefix(&self.base)?;
        let name = path
            .strip_prefix("/users/")
            .or_else(|| path.strip_prefix("/@"))?;
        let name = name.strip_suffix('/').unwrap_or(name);
        (!name.is_empty() && !name.contains(['/', '?', '#'])).then(|| name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_urls_are_percent_encoded_path_segments() {
        let u = Urls::new("https", "fulmar.test");
        assert_eq!(u.tag("Rust_2024"), "https://fulmar.test/tags/Rust_2024");
        assert_eq!(u.tag("日本"), "https://fulmar.test/tags/%E6%97%A5%E6%9C%AC");
    }

    #[test]
    fn recognises_own_urls_only() {
        let u = Urls::new("https", "fulmar.test");
        assert_eq!(
            u.username_of("https://fulmar.test/users/alice").as_deref(),
            Some("alice")
        );
        assert_eq!(
            u.username_of("https://fulmar.test/@alice").as_deref(),
            Some("alice")
        );
        assert_eq!(u.username_of("http://fulmar.test/users/alice"), None);
        assert_eq!(u.username_of("https://other.test/users/alice"), None);
        assert_eq!(
            u.username_of("https://fulmar.test/users/alice/outbox"),
            None
        );
        assert_eq!(u.username_of("https://fulmar.test/users/"), None);
    }
}
