//! Configuration: command-line flags, then `FULMAR_*` environment variables, then
//! `fulmar.toml`, then defaults. Every value is checked before anything starts, and a
//! bad one is reported in one line that names the setting and how to fix it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

/// The settings as given, before checking. Flags and environment variables arrive
/// through clap; the same names appear in `fulmar.toml` (`domain = "..."`).
#[derive(Args, Clone, Debug, Default)]
pub struct RawSettings {
    /// The public host name, with the port when it is not 443 (or 80 in dev mode).
    #[arg(long, env = "FULMAR_DOMAIN", global = true)]
    pub domain: Option<String>,
    /// The socket address to listen on.
    #[arg(long, env = "FULMAR_LISTEN", global = true)]
    pub listen: Option<String>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DATABASE`.
    #[arg(long, env = "FULMAR_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where local media and other files live.
    #[arg(long, env = "FULMAR_DATA_DIR", global = true)]
    pub data_dir: Option<String>,
    /// Development only: serve http:// URLs and allow fetching from plain-http and
    /// loopback addresses. `1`/`true` or `0`/`false`.
    #[arg(long, env = "FULMAR_DEV_INSECURE", global = true)]
    pub dev_insecure: Option<String>,
    /// A TOML file with the same settings (default: ./fulmar.toml when present).
    #[arg(long, env = "FULMAR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// The settings file. Unknown keys are an error: a typo must not be silently ignored.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    domain: Option<String>,
    listen: Option<String>,
    database_url: Option<String>,
    data_dir: Option<String>,
    dev_insecure: Option<toml::Value>,
    rate_limit: Option<toml::Value>,
    inbox_rate_limit: Option<toml::Value>,
    thread_max_objects: Option<toml::Value>,
    thread_max_pages: Option<toml::Value>,
    thread_max_seconds: Option<toml::Value>,
    thread_max_depth: Option<toml::Value>,
    thread_cooldown_seconds: Option<toml::Value>,
    thread_per_host: Option<toml::Value>,
    thread_jobs: Option<toml::Value>,
}

/// Checked configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Lower-case host, with `:port` when one was given.
    pub domain: String,
    pub listen: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub dev_insecure: bool,
    /// Mastodon API requests allowed per token (or per address, without a token) in
    /// each five-minute window; 0 turns rate limiting off (benchmarks).
    pub rate_limit: u32,
    /// Inbox deliveries allowed per remote server (key host or actor host) in each
    /// five-minute window; 0 turns the limit off.
    pub inbox_rate_limit: u32,
    /// How long the inbox waits for a sender's key before refusing the delivery. Not
    /// a setting: the sender is waiting for our answer meanwhile, and tests shorten it.
    pub key_fetch_timeout: std::time::Duration,
    /// Limits of background thread fetches.
    pub threads: ThreadSettings,
    /// How remote accounts' older posts are fetched (see [`Backfill`]).
    pub backfill: Backfill,
}

/// How much a background thread fetch (opening a status's context) may do. Each is a
/// setting (`FULMAR_THREAD_*`, `thread_*` in the file); the defaults suit one reader
/// opening one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadSettings {
    /// Statuses fetched per thread at most.
    pub max_objects: u32,
    /// Collection pages read per thread at most.
    pub max_pages: u32,
    /// Seconds one thread fetch may take.
    pub max_seconds: u32,
    /// Ancestors followed up an `inReplyTo` chain at most.
    pub max_depth: u32,
    /// Seconds before the same thread is fetched again.
    pub cooldown_seconds: u32,
    /// Requests at once to one host from thread fetches.
    pub per_host: u32,
    /// Thread fetches running at once in the whole server.
    pub jobs: u32,
}

impl Default for ThreadSettings {
    fn default() -> Self {
        ThreadSettings {
            max_objects: 100,
            max_pages: 10,
            max_seconds: 30,
            max_depth: 20,
            cooldown_seconds: 15 * 60,
            per_host: 2,
            jobs: 4,
        }
    }
}

/// Limits of backfill: fetching a remote account's recent posts from its outbox when
/// someone here follows it or opens its profile. Set through `FULMAR_BACKFILL_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backfill {
    /// Posts stored per account at most (`FULMAR_BACKFILL_COUNT`; 0 turns backfill off).
    pub count: u32,
    /// Posts older than this many days are not fetched (`FULMAR_BACKFILL_MAX_AGE_DAYS`).
    pub max_age_days: u32,
    /// Outbox pages read per account at most (`FULMAR_BACKFILL_MAX_PAGES`).
    pub max_pages: u32,
    /// Backfills running at once against one remote host (`FULMAR_BACKFILL_PER_HOST`).
    pub per_host: u32,
    /// Backfills running at once in the whole process (`FULMAR_BACKFILL_IN_FLIGHT`).
    pub in_flight: u32,
    /// Seconds one backfill may take in all before it stops where it is
    /// (`FULMAR_BACKFILL_TIMEOUT_SECS`).
    pub timeout_secs: u32,
    /// Hours before opening a profile fetches its posts again
    /// (`FULMAR_BACKFILL_COOLDOWN_HOURS`).
    pub cooldown_hours: u32,
}

impl Default for Backfill {
    fn default() -> Backfill {
        Backfill {
            count: 40,
            max_age_days: 30,
            max_pages: 5,
            per_host: 2,
            in_flight: 4,
            timeout_secs: 120,
            cooldown_hours: 6,
        }
    }
}

/// A setting that cannot be used, with the fix. Displayed as one line.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}. {fix}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
    pub fix: String,
}

impl ConfigError {
    fn new(setting: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError {
            setting,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "fulmar-data";
/// Mastodon's limit: 300 API requests per token, or per address, per five minutes.
pub const DEFAULT_RATE_LIMIT: u32 = 300;
/// Inbox deliveries per remote server per five minutes: 20 a second on average, far
/// above what a busy Mastodon server sends one peer, and far below a flood.
pub const DEFAULT_INBOX_RATE_LIMIT: u32 = 6000;
/// Mastodon gives a delivery about 10 seconds to be answered before it retries.
pub const DEFAULT_KEY_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Config {
    /// Checks raw settings, reading the settings file when one is named or present.
    pub fn load(raw: &RawSettings) -> Result<Config, ConfigError> {
        let file = match &raw.config {
            Some(path) => read_file(path)?,
            None if Path::new("fulmar.toml").exists() => read_file(Path::new("fulmar.toml"))?,
            None => FileSettings::default(),
        };
        let dev_insecure_file = match file.dev_insecure {
            None => None,
            Some(toml::Value::Boolean(b)) => Some(b.to_string()),
            Some(toml::Value::Integer(i)) => Some(i.to_string()),
            Some(toml::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        };
        let mut config = Config::check(RawSettings {
            domain: raw.domain.clone().or(file.domain),
            listen: raw.listen.clone().or(file.listen),
            database_url: raw.database_url.clone().or(file.database_url),
            data_dir: raw.data_dir.clone().or(file.data_dir),
            dev_insecure: raw.dev_insecure.clone().or(dev_insecure_file),
            config: None,
        })?;
        // The rate limit is read here rather than through `RawSettings`, whose fields
        // every caller spells out: FULMAR_RATE_LIMIT wins over `rate_limit` in the file.
        let rate_limit = std::env::var("FULMAR_RATE_LIMIT").ok().or_else(|| {
            file.rate_limit
                .map(|v| v.to_string().trim_matches('"').to_owned())
        });
        if let Some(text) = rate_limit {
            config.rate_limit = parse_rate_limit(&text)?;
        }
        let inbox_rate_limit = std::env::var("FULMAR_INBOX_RATE_LIMIT").ok().or_else(|| {
            file.inbox_rate_limit
                .map(|v| v.to_string().trim_matches('"').to_owned())
        });
        if let Some(text) = inbox_rate_limit {
            config.inbox_rate_limit = text.trim().parse().map_err(|_| {
                ConfigError::new(
                    "FULMAR_INBOX_RATE_LIMIT",
                    format!("{text:?} is not a number of requests"),
                    "Use a whole number of deliveries per remote server per five minutes, for example 6000, or 0 to disable the limit",
                )
            })?;
        }
        let numbers: [(&'static str, &Option<toml::Value>, &mut u32); 7] = [
            (
                "FULMAR_THREAD_MAX_OBJECTS",
                &file.thread_max_objects,
                &mut config.threads.max_objects,
            ),
            (
                "FULMAR_THREAD_MAX_PAGES",
                &file.thread_max_pages,
                &mut config.threads.max_pages,
            ),
            (
                "FULMAR_THREAD_MAX_SECONDS",
                &file.thread_max_seconds,
                &mut config.threads.max_seconds,
            ),
            (
                "FULMAR_THREAD_MAX_DEPTH",
                &file.thread_max_depth,
                &mut config.threads.max_depth,
            ),
            (
                "FULMAR_THREAD_COOLDOWN_SECONDS",
                &file.thread_cooldown_seconds,
                &mut config.threads.cooldown_seconds,
            ),
            (
                "FULMAR_THREAD_PER_HOST",
                &file.thread_per_host,
                &mut config.threads.per_host,
            ),
            (
                "FULMAR_THREAD_JOBS",
                &file.thread_jobs,
                &mut config.threads.jobs,
            ),
        ];
        for (name, from_file, target) in numbers {
            let text = std::env::var(name).ok().or_else(|| {
                from_file
                    .as_ref()
                    .map(|v| v.to_string().trim_matches('"').to_owned())
            });
            if let Some(text) = text {
                *target = text.trim().parse().map_err(|_| {
                    ConfigError::new(
                        name,
                        format!("{text:?} is not a whole number"),
                        "Use a whole number such as the default in the README's settings table",
                    )
                })?;
            }
        }
        config.backfill = backfill_from_env(&|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Checks settings that have already been merged from every source.
    pub fn check(raw: RawSettings) -> Result<Config, ConfigError> {
        let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            ConfigError::new(
                "FULMAR_LISTEN",
                format!("{listen_text:?} is not a socket address"),
                "Use IP:PORT, for example 127.0.0.1:8080 or [::]:8080",
            )
        })?;
        // Without an explicit domain, a server listening on another port is still
        // reachable at the URLs it prints.
        let domain_text = raw
            .domain
            .clone()
            .unwrap_or_else(|| format!("localhost:{}", listen.port()));
        let domain = parse_domain(&domain_text)?;
        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new(
                "FULMAR_DATA_DIR",
                "is empty",
                "Name a directory, for example fulmar-data",
            ));
        }
        let database_url = raw.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", data_dir.join("fulmar.db").to_string_lossy())
        });
        fulmar_store::Backend::of_url(&database_url).map_err(|problem| {
            ConfigError::new(
                "FULMAR_DATABASE_URL",
                problem,
                "Use sqlite://fulmar-data/fulmar.db or postgres://USER@HOST:5432/DATABASE",
            )
        })?;
        if database_url.starts_with("sqlite:")
            && fulmar_store::sqlite_path(&database_url).is_empty()
        {
            return Err(ConfigError::new(
                "FULMAR_DATABASE_URL",
                format!("{database_url:?} names no file"),
                "Use sqlite://PATH, for example sqlite://fulmar-data/fulmar.db",
            ));
        }
        let dev_insecure = match raw.dev_insecure.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => {
                    return Err(ConfigError::new(
                        "FULMAR_DEV_INSECURE",
                        format!("{v:?} is not a boolean"),
                        "Use 1 to enable development mode or 0 to disable it",
                    ))
                }
            },
        };
        Ok(Config {
            domain,
            listen,
            database_url,
            data_dir,
            dev_insecure,
            rate_limit: DEFAULT_RATE_LIMIT,
            inbox_rate_limit: DEFAULT_INBOX_RATE_LIMIT,
            key_fetch_timeout: DEFAULT_KEY_FETCH_TIMEOUT,
            threads: ThreadSettings::default(),
            backfill: Backfill::default(),
        })
    }

    /// `https`, or `http` in development mode.
    pub fn scheme(&self) -> &'static str {
        if self.dev_insecure {
            "http"
        } else {
            "https"
        }
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "FULMAR_CONFIG",
            format!("cannot read {}: {e}", path.display()),
            "Point --config or FULMAR_CONFIG at a readable TOML file",
        )
    })?;
    toml::from_str(&text).map_err(|e| {
        let first_line = e.message().lines().next().unwrap_or_default().to_owned();
        ConfigError::new(
            "FULMAR_CONFIG",
            format!(
                "{} is not a valid settings file: {first_line}",
                path.display()
            ),
            "Allowed keys are domain, listen, database_url, data_dir, dev_insecure, rate_limit and inbox_rate_limit",
        )
    })
}

/// The backfill limits from `FULMAR_BACKFILL_*` variables (read through `var`), each
/// defaulting when unset.
fn backfill_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<Backfill, ConfigError> {
    let d = Backfill::default();
    let number = |setting: &'static str, default: u32, min: u32| -> Result<u32, ConfigError> {
        let Some(text) = var(setting) else {
            return Ok(default);
        };
        match text.trim().parse::<u32>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(ConfigError::new(
                setting,
                format!("{text:?} is not a whole number of at least {min}"),
                format!("Use a whole number, for example the default {default}"),
            )),
        }
    };
    Ok(Backfill {
        count: number("FULMAR_BACKFILL_COUNT", d.count, 0)?,
        max_age_days: number("FULMAR_BACKFILL_MAX_AGE_DAYS", d.max_age_days, 1)?,
        max_pages: number("FULMAR_BACKFILL_MAX_PAGES", d.max_pages, 1)?,
        per_host: number("FULMAR_BACKFILL_PER_HOST", d.per_host, 1)?,
        in_flight: number("FULMAR_BACKFILL_IN_FLIGHT", d.in_flight, 1)?,
        timeout_secs: number("FULMAR_BACKFILL_TIMEOUT_SECS", d.timeout_secs, 1)?,
        cooldown_hours: number("FULMAR_BACKFILL_COOLDOWN_HOURS", d.cooldown_hours, 0)?,
    })
}

/// A request count per five minutes; 0 disables the limit.
fn parse_rate_limit(text: &str) -> Result<u32, ConfigError> {
    text.trim().parse().map_err(|_| {
        ConfigError::new(
            "FULMAR_RATE_LIMIT",
            format!("{text:?} is not a number of requests"),
            "Use a whole number of API requests per five minutes, for example 300, or 0 to disable rate limiting",
        )
    })
}

/// Accepts `host` or `host:port`, as a browser would put it in the address bar.
fn parse_domain(text: &str) -> Result<String, ConfigError> {
    let bad = |problem: String| {
        ConfigError::new(
            "FULMAR_DOMAIN",
            problem,
            "Use the public host name, with :PORT if it is not the default, for example social.example.org or localhost:8080",
        )
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("is empty".into()));
    }
    if text.contains("://") || text.contains('/') || text.contains('@') || text.contains('?') {
        return Err(bad(format!("{text:?} is not a bare host name")));
    }
    let url = url::Url::parse(&format!("http://{text}/"))
        .map_err(|e| bad(format!("{text:?} is not a host name ({e})")))?;
    let host = url
        .host_str()
        .ok_or_else(|| bad(format!("{text:?} has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None if text.ends_with(":80") => format!("{host}:80"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSettings {
        RawSettings::default()
    }

    #[test]
    fn defaults_match_the_brief() {
        let c = Config::check(raw()).unwrap();
        assert_eq!(c.domain, "localhost:8080");
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.database_url, "sqlite://fulmar-data/fulmar.db");
        assert_eq!(c.data_dir, PathBuf::from("fulmar-data"));
        assert!(!c.dev_insecure);
        assert_eq!(c.scheme(), "https");
        assert_eq!(c.rate_limit, DEFAULT_RATE_LIMIT);
    }

    #[test]
    fn domain_follows_the_listen_port_when_unset() {
        let c = Config::check(RawSettings {
            listen: Some("127.0.0.1:9000".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.domain, "localhost:9000");
    }

    #[test]
    fn domain_is_lowercased_and_keeps_its_port() {
        let c = Config::check(RawSettings {
            domain: Some("Social.Example.ORG:8443".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.domain, "social.example.org:8443");
    }

    #[test]
    fn bad_settings_name_the_setting_and_the_fix() {
        let cases = [
            (
                RawSettings {
                    listen: Some("nonsense".into()),
                    ..raw()
                },
                "FULMAR_LISTEN",
            ),
            (
                RawSettings {
                    domain: Some("https://x.org".into()),
                    ..raw()
                },
                "FULMAR_DOMAIN",
            ),
            (
                RawSettings {
                    domain: Some("".into()),
                    ..raw()
                },
                "FULMAR_DOMAIN",
            ),
            (
                RawSettings {
                    database_url: Some("mysql://x".into()),
                    ..raw()
                },
                "FULMAR_DATABASE_URL",
            ),
            (
                RawSettings {
                    database_url: Some("sqlite://".into()),
                    ..raw()
                },
                "FULMAR_DATABASE_URL",
            ),
            (
                RawSettings {
                    dev_insecure: Some("maybe".into()),
                    ..raw()
                },
                "FULMAR_DEV_INSECURE",
            ),
        ];
        for (settings, name) in cases {
            let err = Config::check(settings).unwrap_err();
            assert_eq!(err.setting, name);
            let line = err.to_string();
            assert!(!line.contains('\n'), "one line: {line}");
            assert!(line.starts_with(name), "{line}");
        }
    }

    #[test]
    fn dev_insecure_accepts_the_usual_spellings() {
        for (v, want) in [
            ("1", true),
            ("true", true),
            ("YES", true),
            ("0", false),
            ("off", false),
        ] {
            let c = Config::check(RawSettings {
                dev_insecure: Some(v.into()),
                ..raw()
            })
            .unwrap();
            assert_eq!(c.dev_insecure, want, "{v}");
            assert_eq!(c.scheme(), if want { "http" } else { "https" });
        }
    }

    #[test]
    fn settings_file_fills_gaps_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fulmar.toml");
        std::fs::write(
            &path,
            "domain = \"file.example\"\nlisten = \"127.0.0.1:7000\"\ndev_insecure = true\n",
        )
        .unwrap();
        let c = Config::load(&RawSettings {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:7001".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.domain, "file.example");
        assert_eq!(c.listen.port(), 7001);
        assert!(c.dev_insecure);

        std::fs::write(&path, "domian = \"typo.example\"\n").unwrap();
        let err = Config::load(&RawSettings {
            config: Some(path),
            ..raw()
        })
        .unwrap_err();
        assert_eq!(err.setting, "FULMAR_CONFIG");
        assert!(err.to_string().contains("domian"), "{err}");
    }

    #[test]
    fn thread_limits_have_defaults_and_come_from_the_file() {
        if std::env::vars().any(|(k, _)| k.starts_with("FULMAR_THREAD_")) {
            return; // The environment would win over the file.
        }
        let defaults = Config::check(raw()).unwrap().threads;
        assert_eq!(defaults.max_objects, 100);
        assert_eq!(defaults.cooldown_seconds, 900);
        assert_eq!(defaults.per_host, 2);
        assert_eq!(defaults.jobs, 4);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fulmar.toml");
        std::fs::write(&path, "thread_max_objects = 50\nthread_jobs = \"2\"\n").unwrap();
        let c = Config::load(&RawSettings {
            config: Some(path.clone()),
            ..raw()
        })
        .unwrap();
        assert_eq!((c.threads.max_objects, c.threads.jobs), (50, 2));
        assert_eq!(c.threads.max_pages, defaults.max_pages);

        std::fs::write(&path, "thread_max_pages = -3\n").unwrap();
        let err = Config::load(&RawSettings {
            config: Some(path),
            ..raw()
        })
        .unwrap_err();
        assert_eq!(err.setting, "FULMAR_THREAD_MAX_PAGES");
    }

    #[test]
    fn inbox_rate_limit_comes_from_the_file_and_must_be_a_number() {
        if std::env::var_os("FULMAR_INBOX_RATE_LIMIT").is_some() {
            return; // The environment would win over the file.
        }
        assert_eq!(
            Config::check(raw()).unwrap().inbox_rate_limit,
            DEFAULT_INBOX_RATE_LIMIT
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fulmar.toml");
        std::fs::write(&path, "inbox_rate_limit = 50\n").unwrap();
        let c = Config::load(&RawSettings {
            config: Some(path.clone()),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.inbox_rate_limit, 50);

        std::fs::write(&path, "inbox_rate_limit = -1\n").unwrap();
        let err = Config::load(&RawSettings {
            config: Some(path),
            ..raw()
        })
        .unwrap_err();
        assert_eq!(err.setting, "FULMAR_INBOX_RATE_LIMIT");
    }

    #[test]
    fn rate_limit_comes_from_the_file_and_must_be_a_number() {
        if std::env::var_os("FULMAR_RATE_LIMIT").is_some() {
            return; // The environment would win over the file.
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fulmar.toml");
        std::fs::write(&path, "rate_limit = 0\n").unwrap();
        let c = Config::load(&RawSettings {
            config: Some(path.clone()),
            ..raw()
        })
        .unwrap();
        assert_eq!(c.rate_limit, 0);

        std::fs::write(&path, "rate_limit = \"lots\"\n").unwrap();
        let err = Config::load(&RawSettings {
            config: Some(path),
            ..raw()
        })
        .unwrap_err();
        assert_eq!(err.setting, "FULMAR_RATE_LIMIT");
    }

    #[test]
    fn backfill_limits_default_and_are_checked() {
        let none = backfill_from_env(&|_| None).unwrap();
        assert_eq!(none, Backfill::default());
        assert_eq!((none.count, none.max_age_days), (40, 30));
        let set =
            backfill_from_env(&|n| (n == "FULMAR_BACKFILL_COUNT").then(|| "7".into())).unwrap();
        assert_eq!(set.count, 7);
        let err = backfill_from_env(&|n| (n == "FULMAR_BACKFILL_PER_HOST").then(|| "0".into()))
            .unwrap_err();
        assert_eq!(err.setting, "FULMAR_BACKFILL_PER_HOST");
        let err = backfill_from_env(&|n| (n == "FULMAR_BACKFILL_MAX_AGE_DAYS").then(|| "x".into()))
            .unwrap_err();
        assert_eq!(err.setting, "FULMAR_BACKFILL_MAX_AGE_DAYS");
    }
}
