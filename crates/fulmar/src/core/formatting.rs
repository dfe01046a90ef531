//! Plain text in, Mastodon-compatible HTML out.
//!
//! Local statuses and profile notes are typed as plain text and served as HTML. The
//! rules follow Mastodon's `TextFormatter` and `Extractor` (app/lib/text_formatter.rb,
//! app/lib/extractor.rb, the twitter-text URL grammar as Mastodon configures it in
//! config/initializers/twitter_regex.rb, `Account::MENTION_RE` and `Tag::HASHTAG_RE`):
//!
//! - text is HTML-escaped; paragraphs are split on blank lines (`<p>`), single line
//!   breaks become `<br />` (Rails' `simple_format`);
//! - `http(s)://` URLs become links whose visible text is shortened to 30 characters
//!   after the scheme and `www.`, with the rest hidden in `invisible` spans;
//! - `@user` and `@user@domain` become `h-card` mentions when the account is known
//!   here, and stay plain text otherwise;
//! - `#hashtags` become tag links, keeping the case the author typed.
//!
//! The result then goes through [`sanitize`], the same allow-list sanitizer that
//! remote HTML passes through, so that nothing this module produces can carry markup
//! the allow-list would refuse.
//!
//! Entity extraction and rendering are pure functions; only [`format_text`] and
//! [`note_to_html`] touch the database, to look the mentioned accounts up.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use fulmar_store::accounts::AccountRow;
use fulmar_store::Db;

use super::error::CoreResult;
use super::urls::Urls;

/// What a URL counts for in the character limit, whatever its length
/// (Mastodon's `StatusLengthValidator::URL_PLACEHOLDER_CHARS`).
pub const URL_PLACEHOLDER_CHARS: usize = 23;

/// Twitter-text refuses longer URLs; so do we.
const MAX_URL_LENGTH: usize = 4096;
/// A mention's domain longer than a DNS name can be is not a mention.
const MAX_DOMAIN_LENGTH: usize = 253;
/// Characters of a link's text shown before the ellipsis.
const LINK_DISPLAY_CHARS: usize = 30;

/// Something recognised in a text, by byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub kind: EntityKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityKind {
    Url(String),
    /// `@username` or `@username@domain`, as typed.
    Mention {
        username: String,
        domain: Option<String>,
    },
    /// The tag as typed, without `#`.
    Hashtag(String),
}

/// A mentioned account as the HTML needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionTarget {
    /// The account's profile page.
    pub url: String,
    /// The username as the account spells it (shown after `@`).
    pub username: String,
}

/// The result of formatting a status text.
#[derive(Clone, Debug, Default)]
pub struct Formatted {
    /// Sanitised HTML, ready to serve as `content`.
    pub html: String,
    /// The accounts mentioned, once each, in order of first appearance.
    pub mentions: Vec<AccountRow>,
    /// The hashtags, once each: (normalised name for storage, name as first typed).
    pub tags: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------
// Character classes, after the POSIX classes of Ruby's regular expressions.
// ---------------------------------------------------------------------------------

/// Combining marks, variation selectors and emoji modifiers: characters that attach
/// to the one before. An approximation of Unicode's general category M (the standard
/// library has no general categories), covering the scripts people write in.
fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2
        | 0x05C4..=0x05C5 | 0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670
        | 0x06D6..=0x06DC | 0x06DF..=0x06E4 | 0x06E7..=0x06E8 | 0x06EA..=0x06ED | 0x0711
        | 0x0730..=0x074A | 0x07A6..=0x07B0 | 0x07EB..=0x07F3 | 0x0816..=0x082D
        | 0x0859..=0x085B | 0x08D3..=0x08E1 | 0x08E3..=0x0903 | 0x093A..=0x093C
        | 0x093E..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963 | 0x0981..=0x0983 | 0x09BC
        | 0x09BE..=0x09CD | 0x09D7 | 0x09E2..=0x09E3 | 0x0A01..=0x0A03 | 0x0A3C..=0x0A51
        | 0x0A70..=0x0A71 | 0x0A75 | 0x0A81..=0x0A83 | 0x0ABC | 0x0ABE..=0x0ACD
        | 0x0AE2..=0x0AE3 | 0x0B01..=0x0B03 | 0x0B3C | 0x0B3E..=0x0B57 | 0x0B62..=0x0B63
        | 0x0B82 | 0x0BBE..=0x0BCD | 0x0BD7 | 0x0C00..=0x0C04 | 0x0C3E..=0x0C56
        | 0x0C62..=0x0C63 | 0x0C81..=0x0C83 | 0x0CBC | 0x0CBE..=0x0CD6 | 0x0CE2..=0x0CE3
        | 0x0D00..=0x0D03 | 0x0D3B..=0x0D3C | 0x0D3E..=0x0D4D | 0x0D57 | 0x0D62..=0x0D63
        | 0x0D81..=0x0D83 | 0x0DCA..=0x0DDF | 0x0DF2..=0x0DF3 | 0x0E31 | 0x0E34..=0x0E3A
        | 0x0E47..=0x0E4E | 0x0EB1 | 0x0EB4..=0x0EBC | 0x0EC8..=0x0ECD | 0x0F18..=0x0F19
        | 0x0F35 | 0x0F37 | 0x0F39 | 0x0F3E..=0x0F3F | 0x0F71..=0x0F84 | 0x0F86..=0x0F87
        | 0x0F8D..=0x0FBC | 0x0FC6 | 0x102B..=0x103E | 0x1056..=0x1059 | 0x105E..=0x1060
        | 0x1062..=0x1064 | 0x1067..=0x106D | 0x1071..=0x1074 | 0x1082..=0x108D | 0x108F
        | 0x109A..=0x109D | 0x135D..=0x135F | 0x1712..=0x1714 | 0x1732..=0x1734
        | 0x1752..=0x1753 | 0x1772..=0x1773 | 0x17B4..=0x17D3 | 0x17DD | 0x180B..=0x180D
        | 0x1885..=0x1886 | 0x18A9 | 0x1920..=0x193B | 0x1A17..=0x1A1B | 0x1A55..=0x1A7F
        | 0x1AB0..=0x1AFF | 0x1B00..=0x1B04 | 0x1B34..=0x1B44 | 0x1B6B..=0x1B73
        | 0x1B80..=0x1B82 | 0x1BA1..=0x1BAD | 0x1BE6..=0x1BF3 | 0x1C24..=0x1C37
        | 0x1CD0..=0x1CD2 | 0x1CD4..=0x1CE8 | 0x1CED | 0x1CF4 | 0x1CF7..=0x1CF9
        | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0x2CEF..=0x2CF1 | 0x2D7F | 0x2DE0..=0x2DFF
        | 0x302A..=0x302F | 0x3099..=0x309A | 0xA66F..=0xA672 | 0xA674..=0xA67D
        | 0xA69E..=0xA69F | 0xA6F0..=0xA6F1 | 0xA802 | 0xA806 | 0xA80B | 0xA823..=0xA827
        | 0xA880..=0xA881 | 0xA8B4..=0xA8C5 | 0xA8E0..=0xA8F1 | 0xA926..=0xA92D
        | 0xA947..=0xA953 | 0xA980..=0xA983 | 0xA9B3..=0xA9C0 | 0xAA29..=0xAA36 | 0xAA43
        | 0xAA4C..=0xAA4D | 0xAA7B..=0xAA7D | 0xAAB0 | 0xAAB2..=0xAAB4 | 0xAAB7..=0xAAB8
        | 0xAABE..=0xAABF | 0xAAC1 | 0xAAEB..=0xAAEF | 0xAAF5..=0xAAF6 | 0xABE3..=0xABEA
        | 0xABEC..=0xABED | 0xFB1E | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F
        | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

/// Ruby's `[[:word:]]`: letters, marks, decimal digits and connector punctuation.
fn is_word(c: char) -> bool {
    c.is_alphanumeric()
        || is_mark(c)
        || matches!(
            c,
            '_' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
                ..='\u{FE4F}' | '\u{FF3F}'
        )
}

/// Characters twitter-text never lets into a URL or domain: non-characters, byte
/// order marks and the bidirectional controls.
fn is_invalid_or_directional(c: char) -> bool {
    matches!(
        c,
        '\u{FFFE}'
            | '\u{FEFF}'
            | '\u{FFFF}'
            | '\u{202A}'..='\u{202E}'
            | '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Twitter-text's `LATIN_ACCENTS`: a mention followed by one of these is not a
/// mention (it would be a longer, non-ASCII name).
fn is_latin_accent(c: char) -> bool {
    matches!(c,
        '\u{00C0}'..='\u{00D6}' | '\u{00D8}'..='\u{00F6}' | '\u{00F8}'..='\u{00FF}'
        | '\u{0100}'..='\u{024F}' | '\u{0253}'..='\u{0254}' | '\u{0256}'..='\u{0257}'
        | '\u{0259}' | '\u{025B}' | '\u{0263}' | '\u{0268}' | '\u{026F}' | '\u{0272}'
        | '\u{0289}' | '\u{028B}' | '\u{02BB}' | '\u{0300}'..='\u{036F}'
        | '\u{1E00}'..='\u{1EFF}')
}

fn char_before(text: &str, at: usize) -> Option<char> {
    text[..at].chars().next_back()
}

fn char_at(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|s| s.chars().next())
}

// ---------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------

/// The characters a URL may start after (twitter-text's `valid_url_preceding_chars`):
/// anything but ASCII letters and digits, `@`, `$` and `#` (and their full-width
/// forms), and invalid characters.
fn may_precede_url(c: char) -> bool {
    !(c.is_ascii_alphanumeric()
        || matches!(c, '@' | '\u{FF20}' | '$' | '#' | '\u{FF03}')
        || matches!(
            c,
            '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}' | '\u{202A}'..='\u{202E}'
        ))
}

/// A character of a host name label (twitter-text's `DOMAIN_VALID_CHARS`).
fn is_domain_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_ascii_punctuation() || is_invalid_or_directional(c))
}

/// Mastodon's `valid_general_url_path_chars`: anything but white space, `<`, `>`,
/// parentheses and `?`.
fn is_path_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '?'))
}

/// Mastodon's `valid_url_path_ending_chars`: a path never ends in punctuation that
/// usually belongs to the sentence around it.
fn is_path_ending_char(c: char) -> bool {
    is_path_char(c)
        && !matches!(
            c,
            '!' | '*'
                | '"'
                | '\''
                | '「'
                | '」'
                | ';'
                | ':'
                | '='
                | ','
                | '.'
                | '$'
                | '%'
                | '['
                | ']'
                | '~'
                | '&'
                | '|'
                | '@'
        )
}

/// Mastodon's `UCHARS`: the non-ASCII characters allowed in a query string.
fn is_uchar(c: char) -> bool {
    let u = c as u32;
    u >= 0xA0
        && !(0xD800..=0xDFFF).contains(&u)
        && !(0xFDD0..=0xFDEF).contains(&u)
        && !(0xFFF0..=0xFFFF).contains(&u)
        && !(0xE0000..=0xE0FFF).contains(&u)
        && (u & 0xFFFE) != 0xFFFE
}

fn is_query_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!?*'();:&=+$/%#[]-_.,~|@^".contains(c) || is_uchar(c)
}

fn is_query_ending_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_&=#/-".contains(c) || is_uchar(c)
}

/// One host name label starting at `pos`: domain characters with `-` and `_` inside.
fn parse_label(text: &str, pos: usize) -> Option<usize> {
    let first = char_at(text, pos)?;
    if !is_domain_char(first) {
        return None;
    }
    let mut end = pos + first.len_utf8();
    let mut i = end;
    for c in text[end..].chars() {
        if is_domain_char(c) {
            i += c.len_utf8();
            end = i;
        } else if c == '-' || c == '_' {
            i += c.len_utf8();
        } else {
            break;
        }
    }
    Some(end)
}

/// Where the top-level domain in a label ends, if the label holds one: a run of two
/// or more letters (ASCII, or a whole label of another script), or a punycode label,
/// followed by something that cannot continue a name.
fn tld_end(text: &str, start: usize, end: usize) -> Option<usize> {
    let label = &text[start..end];
    let next_ok = |at: usize| match char_at(text, at) {
        None => true,
        Some(c) => !c.is_alphanumeric() && c != '@',
    };
    if label.len() > 4
        && label[..4].eq_ignore_ascii_case("xn--")
        && label[4..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && next_ok(end)
    {
        return Some(end);
    }
    if label.chars().count() >= 2 && label.chars().all(char::is_alphabetic) && next_ok(end) {
        return Some(end);
    }
    let ascii = label
        .bytes()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    (ascii >= 2 && next_ok(start + ascii)).then_some(start + ascii)
}

/// The host name starting at `pos` (at least two labels, the last one a top-level
/// domain); returns where it ends.
fn parse_host(text: &str, pos: usize) -> Option<usize> {
    let mut labels: Vec<(usize, usize)> = Vec::new();
    let mut at = pos;
    while let Some(end) = parse_label(text, at) {
        labels.push((at, end));
        if labels.len() > 127 || !text[end..].starts_with('.') {
            break;
        }
        at = end + 1;
    }
    (2..=labels.len())
        .rev()
        .find_map(|n| tld_end(text, labels[n - 1].0, labels[n - 1].1))
        .filter(|end| end - pos <= MAX_DOMAIN_LENGTH)
}

/// A balanced parenthesised group in a path, one level of nesting allowed (so that
/// Wikipedia links like `/wiki/Rust_(language)` stay whole). `pos` is at `(`.
fn parse_balanced_parens(text: &str, pos: usize) -> Option<usize> {
    let mut i = pos + 1;
    let run = |from: usize| -> usize {
        from + text[from..]
            .chars()
            .take_while(|c| is_path_char(*c))
            .map(char::len_utf8)
            .sum::<usize>()
    };
    let after_first = run(i);
    match char_at(text, after_first) {
        Some(')') if after_first > i => Some(after_first + 1),
        Some('(') => {
            i = after_first + 1;
            let inner_end = run(i);
            if inner_end == i || char_at(text, inner_end) != Some(')') {
                return None;
            }
            let tail_end = run(inner_end + 1);
            (char_at(text, tail_end) == Some(')')).then_some(tail_end + 1)
        }
        _ => None,
    }
}

/// The URL starting at `start` (at its scheme), if one does; returns its end.
fn parse_url(text: &str, start: usize, scheme_len: usize) -> Option<usize> {
    let mut end = parse_host(text, start + scheme_len)?;
    // Port.
    if text[end..].starts_with(':') {
        let digits = text[end + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits > 0 {
            end += 1 + digits;
        }
    }
    // Path: the longest run of path characters and balanced parentheses that ends in
    // a character allowed at the end.
    if text[end..].starts_with('/') {
        let mut i = end + 1;
        let mut good = i;
        while let Some(c) = char_at(text, i) {
            if c == '(' {
                match parse_balanced_parens(text, i) {
                    Some(close) => {
                        i = close;
                        good = i;
                    }
                    None => break,
                }
            } else if is_path_char(c) {
                i += c.len_utf8();
                if is_path_ending_char(c) {
                    good = i;
                }
            } else {
                break;
            }
        }
        end = good;
    }
    // Query string.
    if text[end..].starts_with('?') {
        let mut i = end + 1;
        let mut good = None;
        while let Some(c) = char_at(text, i) {
            if !is_query_char(c) {
                break;
            }
            i += c.len_utf8();
            if is_query_ending_char(c) {
                good = Some(i);
            }
        }
        if let Some(good) = good {
            end = good;
        }
    }
    (end - start <= MAX_URL_LENGTH).then_some(end)
}

/// `http://` and `https://` URLs, as twitter-text finds them with
/// `extract_url_without_protocol: false`.
pub fn extract_urls(text: &str) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let starts = |scheme: &str| {
            rest.get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        };
        let scheme_len = if starts("https://") {
            8
        } else if starts("http://") {
            7
        } else {
            0
        };
        if scheme_len > 0 && char_before(text, i).is_none_or(may_precede_url) {
            if let Some(end) = parse_url(text, i, scheme_len) {
                out.push(Entity {
                    start: i,
                    end,
                    kind: EntityKind::Url(text[i..end].to_owned()),
                });
                i = end;
                continue;
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    out
}

// ---------------------------------------------------------------------------------
// Mentions
// ---------------------------------------------------------------------------------

/// `[a-z0-9_]+([.-]+[a-z0-9_]+)*` from `pos`; returns its end.
fn parse_username(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = pos;
    while i < bytes.len() && is_name(bytes[i]) {
        i += 1;
    }
    if i == pos {
        return None;
    }
    let mut end = i;
    loop {
        let mut j = end;
        while j < bytes.len() && (bytes[j] == b'.' || bytes[j] == b'-') {
            j += 1;
        }
        if j == end {
            break;
        }
        let k0 = j;
        while j < bytes.len() && is_name(bytes[j]) {
            j += 1;
        }
        if j == k0 {
            break;
        }
        end = j;
    }
    Some(end)
}

/// `[[:word:]]+([.-]+[[:word:]]+)*` from `pos`; returns its end.
fn parse_mention_domain(text: &str, pos: usize) -> Option<usize> {
    let word_run = |from: usize| -> usize {
        from + text[from..]
            .chars()
            .take_while(|c| is_word(*c))
            .map(char::len_utf8)
            .sum::<usize>()
    };
    let first = word_run(pos);
    if first == pos {
        return None;
    }
    let mut end = first;
    loop {
        let seps = text[end..]
            .bytes()
            .take_while(|b| *b == b'.' || *b == b'-')
            .count();
        if seps == 0 {
            break;
        }
        let next = word_run(end + seps);
        if next == end + seps {
            break;
        }
        end = next;
    }
    Some(end)
}

/// Mentions, as Mastodon's `Account::MENTION_RE` and `Extractor` find them: not after
/// a word character, `=` or `/`; not followed by another `@`, a Latin accented
/// letter or `://`.
pub fn extract_mentions(text: &str) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('@') {
        let at = i + off;
        i = at + 1;
        if char_before(text, at).is_some_and(|c| c == '=' || c == '/' || is_word(c)) {
            continue;
        }
        let Some(name_end) = parse_username(text, at + 1) else {
            continue;
        };
        let mut end = name_end;
        let mut domain = None;
        if text[end..].starts_with('@') {
            if let Some(domain_end) = parse_mention_domain(text, end + 1) {
                domain = Some((end + 1, domain_end));
                end = domain_end;
            }
        }
        i = end;
        let after = &text[end..];
        if after.starts_with(['@', '\u{FF20}'])
            || after.starts_with("://")
            || after.chars().next().is_some_and(is_latin_accent)
        {
            continue;
        }
        if domain.is_some_and(|(s, e)| e - s > MAX_DOMAIN_LENGTH) {
            continue;
        }
        out.push(Entity {
            start: at,
            end,
            kind: EntityKind::Mention {
                username: text[at + 1..name_end].to_owned(),
                domain: domain.map(|(s, e)| text[s..e].to_owned()),
            },
        });
    }
    out
}

// ---------------------------------------------------------------------------------
// Hashtags
// ---------------------------------------------------------------------------------

/// The separators Mastodon allows inside a hashtag (`Tag::HASHTAG_SEPARATORS`).
fn is_tag_separator(c: char) -> bool {
    matches!(c, '_' | '\u{00B7}' | '\u{30FB}' | '\u{200C}')
}

/// The tag name at `pos` (just after `#`), by `Tag::HASHTAG_NAME_PAT`: word
/// characters and separators, starting and ending with a word character, with a
/// letter somewhere or a separator inside (so `#123` is no tag but `#1_2` is).
fn parse_tag_name(text: &str, pos: usize) -> Option<usize> {
    let chars: Vec<(usize, char)> = text[pos..]
        .char_indices()
        .take_while(|(_, c)| is_word(*c) || is_tag_separator(*c))
        .collect();
    // Trailing separators other than `_` (which is a word character) are not part
    // of the tag.
    let len = chars
        .iter()
        .rposition(|(_, c)| is_word(*c))
        .map_or(0, |p| p + 1);
    let name = &chars[..len];
    if name.is_empty() || !is_word(name[0].1) {
        return None;
    }
    let has_alpha = name.iter().any(|(_, c)| c.is_alphabetic());
    let inner_separator =
        name.len() >= 3 && name[1..len - 1].iter().any(|(_, c)| is_tag_separator(*c));
    if !has_alpha && !inner_separator {
        return None;
    }
    let (last_at, last) = name[len - 1];
    Some(pos + last_at + last.len_utf8())
}

/// Hashtags, as Mastodon's `Tag::HASHTAG_RE` finds them: `#` or `＃` not after a
/// letter, digit, `=`, `/` or `)`.
pub fn extract_hashtags(text: &str) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find(['#', '\u{FF03}']) {
        let hash = i + off;
        let hash_len = if text[hash..].starts_with('#') { 1 } else { 3 };
        i = hash + hash_len;
        if char_before(text, hash).is_some_and(|c| matches!(c, '=' | '/' | ')') || is_word(c)) {
            continue;
        }
        let Some(mut end) = parse_tag_name(text, i) else {
            continue;
        };
        // `#tophttps://example.com`: the scheme belongs to the URL, not the tag.
        if text[end..].starts_with("://") {
            for scheme in ["https", "http"] {
                if end - i > scheme.len() && text[i..end].ends_with(scheme) {
                    end -= scheme.len();
                    break;
                }
            }
        }
        out.push(Entity {
            start: hash,
            end,
            kind: EntityKind::Hashtag(text[i..end].to_owned()),
        });
        i = end;
    }
    out
}

/// How a tag is stored and compared: lower case (Mastodon also folds full-width
/// forms; lower-casing is what matters for ASCII tags).
pub fn normalize_tag(name: &str) -> String {
    name.to_lowercase()
}

/// Keeps the first of any overlapping entities, by start position.
fn remove_overlapping(mut entities: Vec<Entity>) -> Vec<Entity> {
    entities.sort_by_key(|e| e.start);
    let mut out: Vec<Entity> = Vec::with_capacity(entities.len());
    for e in entities {
        if out.last().is_some_and(|prev| prev.end > e.start) {
            continue;
        }
        out.push(e);
    }
    out
}

/// Every URL, mention and hashtag in a text, in order, without overlaps.
pub fn extract_entities(text: &str) -> Vec<Entity> {
    let mut all = extract_urls(text);
    all.extend(extract_hashtags(text));
    all.extend(extract_mentions(text));
    remove_overlapping(all)
}

// ---------------------------------------------------------------------------------
// Length
// ---------------------------------------------------------------------------------

/// Counts user-perceived characters: a base character with the marks, joiners,
/// variation selectors and modifiers that attach to it counts once, as do a pair of
/// regional indicators (a flag) and `\r\n`. An approximation of Unicode extended
/// grapheme clusters, which Mastodon counts.
pub fn grapheme_count(text: &str) -> usize {
    let mut count = 0;
    let mut prev: Option<char> = None;
    let mut join_next = false;
    let mut open_flag = false;
    for c in text.chars() {
        let regional = ('\u{1F1E6}'..='\u{1F1FF}').contains(&c);
        let attaches = join_next
            || is_mark(c)
            || c == '\u{200D}'
            || (c == '\n' && prev == Some('\r'))
            || (regional && open_flag);
        if !attaches {
            count += 1;
        }
        open_flag = regional && !(attaches && open_flag);
        join_next = c == '\u{200D}';
        prev = Some(c);
    }
    count
}

/// The length of a status for the character limit, as Mastodon's
/// `StatusLengthValidator` counts it: the content warning plus the text, where each
/// URL counts as 23 characters and `@user@domain` counts as `@user`.
pub fn countable_length(text: &str, spoiler_text: &str) -> usize {
    let mut countable = String::with_capacity(text.len());
    if !text.trim().is_empty() {
        let mut entities = extract_urls(text);
        entities.extend(extract_mentions(text));
        let mut last = 0;
        for e in remove_overlapping(entities) {
            countable.push_str(&text[last..e.start]);
            match &e.kind {
                EntityKind::Url(_) => countable.push_str(&"x".repeat(URL_PLACEHOLDER_CHARS)),
                EntityKind::Mention { username, .. } => {
                    countable.push('@');
                    countable.push_str(username);
                }
                EntityKind::Hashtag(_) => countable.push_str(&text[e.start..e.end]),
            }
            last = e.end;
        }
        countable.push_str(&text[last..]);
    }
    grapheme_count(spoiler_text) + grapheme_count(&countable)
}

// ---------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------

/// ERB's `h`: escapes the five characters that matter in HTML text and attributes.
pub fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Mastodon's shortened link (`TextFormatter.shortened_link`): the scheme and `www.`
/// hidden, then 30 characters, then the rest hidden behind an ellipsis.
pub fn shortened_link(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let mut prefix_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        0
    };
    if prefix_len > 0 && lower[prefix_len..].starts_with("www.") {
        prefix_len += 4;
    }
    let (prefix, rest) = url.split_at(prefix_len);
    let mut display: String = rest.chars().take(LINK_DISPLAY_CHARS).collect();
    let mut suffix: String = rest.chars().skip(LINK_DISPLAY_CHARS).collect();
    let mut cutoff = !suffix.is_empty();
    // An ellipsis in place of a single character saves nothing: show it.
    if suffix.chars().count() == 1 {
        display.push_str(&suffix);
        suffix.clear();
        cutoff = false;
    }
    format!(
        "<a href=\"{}\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\">\
         <span class=\"invisible\">{}</span><span class=\"{}\">{}</span>\
         <span class=\"invisible\">{}</span></a>",
        escape_html(url),
        escape_html(prefix),
        if cutoff { "ellipsis" } else { "" },
        escape_html(&display),
        escape_html(&suffix),
    )
}

fn hashtag_link(urls: &Urls, tag: &str) -> String {
    format!(
        "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
        escape_html(&urls.tag(tag)),
        escape_html(tag)
    )
}

fn mention_link(target: &MentionTarget) -> String {
    format!(
        "<span class=\"h-card\" translate=\"no\"><a href=\"{}\" class=\"u-url mention\">@<span>{}</span></a></span>",
        escape_html(&target.url),
        escape_html(&target.username)
    )
}

/// The key under which a mention is resolved: lower-case username, and lower-case
/// domain unless it is this server's own.
pub fn mention_key(urls: &Urls, username: &str, domain: Option<&str>) -> (String, Option<String>) {
    // A mention's domain cannot carry a port, so a server configured with one (in
    // development) is recognised by its host name alone.
    let host = urls.domain().split(':').next().unwrap_or_default();
    let domain = domain
        .map(str::to_lowercase)
        .filter(|d| !d.eq_ignore_ascii_case(urls.domain()) && !d.eq_ignore_ascii_case(host));
    (username.to_lowercase(), domain)
}

/// Renders a text with its entities as HTML (before sanitising). `targets` holds the
/// mentioned accounts that exist here, by [`mention_key`]; other mentions stay text.
pub fn render(
    urls: &Urls,
    text: &str,
    entities: &[Entity],
    targets: &HashMap<(String, Option<String>), MentionTarget>,
) -> String {
    let mut html = String::with_capacity(text.len() * 2);
    let mut last = 0;
    for e in entities {
        html.push_str(&escape_html(&text[last..e.start]));
        match &e.kind {
            EntityKind::Url(url) => html.push_str(&shortened_link(url)),
            EntityKind::Hashtag(tag) => html.push_str(&hashtag_link(urls, tag)),
            EntityKind::Mention { username, domain } => {
                match targets.get(&mention_key(urls, username, domain.as_deref())) {
                    Some(target) => html.push_str(&mention_link(target)),
                    None => html.push_str(&escape_html(&text[e.start..e.end])),
                }
            }
        }
        last = e.end;
    }
    html.push_str(&escape_html(&text[last..]));
    simple_format(&html)
}

/// Rails' `simple_format` as Mastodon uses it: paragraphs on blank lines, `<br />` on
/// single line breaks, no newlines left.
fn simple_format(html: &str) -> String {
    let html = html.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html.as_str();
    loop {
        let (paragraph, next) = match rest.find("\n\n") {
            Some(i) => {
                let after = rest[i..].trim_start_matches('\n');
                (&rest[..i], Some(after))
            }
            None => (rest, None),
        };
        // Ruby's split drops trailing empty fields.
        if !(paragraph.is_empty() && next.is_none_or(str::is_empty)) {
            out.push_str("<p>");
            // A line break at either end of a paragraph has no line to break from.
            out.push_str(&paragraph.trim_matches('\n').replace('\n', "<br />"));
            out.push_str("</p>");
        }
        match next {
            Some(n) if !n.is_empty() => rest = n,
            _ => break,
        }
    }
    out
}

/// Looks the mentioned accounts up: local ones by username, remote ones by username
/// and domain when we already know them (resolving unknown remote accounts over the
/// network is the federation's job, not the formatter's).
async fn resolve_mentions(
    db: &Db,
    urls: &Urls,
    entities: &[Entity],
) -> CoreResult<Vec<((String, Option<String>), AccountRow)>> {
    let mut found: Vec<((String, Option<String>), AccountRow)> = Vec::new();
    let mut tried: HashSet<(String, Option<String>)> = HashSet::new();
    for e in entities {
        let EntityKind::Mention { username, domain } = &e.kind else {
            continue;
        };
        let key = mention_key(urls, username, domain.as_deref());
        if !tried.insert(key.clone()) {
            continue;
        }
        let account = match &key.1 {
            None => fulmar_store::accounts::local_by_username(db, username).await?,
            Some(d) => fulmar_store::status_actions::account_by_handle(db, username, d).await?,
        };
        if let Some(account) = account.filter(|a| a.suspended_at.is_none()) {
            found.push((key, account));
        }
    }
    Ok(found)
}

fn mention_target(urls: &Urls, account: &AccountRow) -> MentionTarget {
    let url = match account.domain {
        None => urls.profile(&account.username),
        Some(_) => account.url.clone().unwrap_or_else(|| account.uri.clone()),
    };
    MentionTarget {
        url,
        username: account.username.clone(),
    }
}

/// Formats a status text: HTML, mentioned accounts and hashtags. The text should be
/// trimmed already (statuses are stored trimmed, as Mastodon does).
pub async fn format_text(db: &Db, urls: &Urls, text: &str) -> CoreResult<Formatted> {
    if text.trim().is_empty() {
        return Ok(Formatted::default());
    }
    let entities = extract_entities(text);
    let resolved = resolve_mentions(db, urls, &entities).await?;
    let targets: HashMap<(String, Option<String>), MentionTarget> = resolved
        .iter()
        .map(|(k, a)| (k.clone(), mention_target(urls, a)))
        .collect();
    let html = sanitize(&render(urls, text, &entities, &targets));
    let mut mentions: Vec<AccountRow> = Vec::new();
    for (_, account) in resolved {
        if !mentions.iter().any(|m| m.id == account.id) {
            mentions.push(account);
        }
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for e in &entities {
        if let EntityKind::Hashtag(tag) = &e.kind {
            let name = normalize_tag(tag);
            if !tags.iter().any(|(n, _)| *n == name) {
                tags.push((name, tag.clone()));
            }
        }
    }
    Ok(Formatted {
        html,
        mentions,
        tags,
    })
}

/// A profile note (bio) as HTML, by the same rules as statuses: Mastodon formats
/// local bios with the same `TextFormatter`.
pub async fn note_to_html(db: &Db, urls: &Urls, note: &str) -> CoreResult<String> {
    Ok(format_text(db, urls, note.trim()).await?.html)
}

// ---------------------------------------------------------------------------------
// Sanitising
// ---------------------------------------------------------------------------------

/// Classes that survive sanitising (Mastodon's `CLASS_WHITELIST_TRANSFORMER`):
/// microformats, and the classes its own markup uses.
fn allowed_class(class: &str) -> bool {
    ["h-", "p-", "u-", "dt-", "e-"]
        .iter()
        .any(|p| class.starts_with(p))
        || matches!(
            class,
            "mention" | "hashtag" | "ellipsis" | "invisible" | "quote-inline"
        )
}

fn filter_tokens(value: &str, keep: impl Fn(&str) -> bool) -> String {
    value
        .split_ascii_whitespace()
        .filter(|t| keep(t))
        .collect::<Vec<_>>()
        .join(" ")
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "p",
        "br",
        "span",
        "a",
        "del",
        "s",
        "pre",
        "code",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "ul",
        "ol",
        "li",
        "blockquote",
        "ruby",
        "rt",
        "rp",
    ]
    .into_iter()
    .collect();
    let tag_attributes: HashMap<&str, HashSet<&str>> = [
        (
            "a",
            ["href", "rel", "class", "target", "translate"]
                .into_iter()
                .collect(),
        ),
        ("span", ["class", "translate"].into_iter().collect()),
        ("ol", ["start", "reversed"].into_iter().collect()),
        ("li", ["value"].into_iter().collect()),
    ]
    .into_iter()
    .collect();
    let mut b = ammonia::Builder::default();
    b.tags(tags)
        .tag_attributes(tag_attributes)
        .generic_attributes(HashSet::new())
        .url_schemes(
            [
                "http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet",
                "gemini",
            ]
            .into_iter()
            .collect(),
        )
        .url_relative(ammonia::UrlRelative::Deny)
        // Mastodon's own markup carries its own `rel` (`tag` on hashtags), so ammonia
        // must not overwrite it; unknown tokens are filtered below instead.
        .link_rel(None)
        .strip_comments(true)
        .attribute_filter(|_element, attribute, value| match attribute {
            // An empty class is kept: Mastodon's unshortened links say `class=""`.
            "class" => Some(filter_tokens(value, allowed_class).into()),
            "rel" => Some(
                filter_tokens(value, |t| {
                    matches!(t, "nofollow" | "noopener" | "noreferrer" | "tag" | "me")
                })
                .into(),
            ),
            "target" => (value == "_blank").then(|| value.into()),
            "translate" => (value == "no").then(|| value.into()),
            _ => Some(value.into()),
        });
    b
});

/// Cleans HTML down to Mastodon's allow-list: `p br span a del s pre code em strong b
/// i u ul ol li blockquote ruby rt rp`; links only to http(s) and the other schemes
/// Mastodon allows, no relative links; classes limited to microformats and
/// Mastodon's own. Script and style elements go with their content. Used for our
/// own formatted text and for HTML from other servers alike.
pub fn sanitize(html: &str) -> String {
    // html5ever writes void elements as `<br>`; Mastodon writes `<br />`, and a `<br>`
    // in the output is always a real element (text `<` is escaped), so put it back.
    SANITIZER.clean(html).to_string().replace("<br>", "<br />")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new("https", "fulmar.test")
    }

    fn kinds(text: &str) -> Vec<EntityKind> {
        extract_entities(text).into_iter().map(|e| e.kind).collect()
    }

    fn url(u: &str) -> EntityKind {
        EntityKind::Url(u.into())
    }

    fn tag(t: &str) -> EntityKind {
        EntityKind::Hashtag(t.into())
    }

    fn mention(u: &str, d: Option<&str>) -> EntityKind {
        EntityKind::Mention {
            username: u.into(),
            domain: d.map(Into::into),
        }
    }

    /// Formats with `alice` (local) and `bob@remote.example` (remote) known.
    fn format(text: &str) -> String {
        let u = urls();
        let mut targets = HashMap::new();
        targets.insert(
            ("alice".to_string(), None),
            MentionTarget {
                url: "https://fulmar.test/@alice".into(),
                username: "alice".into(),
            },
        );
        targets.insert(
            ("bob".to_string(), Some("remote.example".to_string())),
            MentionTarget {
                url: "https://remote.example/@bob".into(),
                username: "bob".into(),
            },
        );
        sanitize(&render(&u, text, &extract_entities(text), &targets))
    }

    const ALICE: &str = r#"<span class="h-card" translate="no"><a href="https://fulmar.test/@alice" class="u-url mention">@<span>alice</span></a></span>"#;

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(format("hello"), "<p>hello</p>");
        assert_eq!(format("one\ntwo"), "<p>one<br />two</p>");
        assert_eq!(format("one\n\ntwo"), "<p>one</p><p>two</p>");
        assert_eq!(
            format("one\n\n\n\ntwo\nthree"),
            "<p>one</p><p>two<br />three</p>"
        );
        assert_eq!(format("one\r\ntwo"), "<p>one<br />two</p>");
        assert_eq!(format("a\n \nb"), "<p>a<br /> <br />b</p>");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            format("<script>alert(1)</script>"),
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        );
        assert_eq!(format("a & b < c"), "<p>a &amp; b &lt; c</p>");
        assert_eq!(
            format(r#"<a href="javascript:alert(1)">x</a>"#),
            "<p>&lt;a href=\"javascript:alert(1)\"&gt;x&lt;/a&gt;</p>"
        );
        assert_eq!(
            format("<img src=x onerror=alert(1)>"),
            "<p>&lt;img src=x onerror=alert(1)&gt;</p>"
        );
    }

    #[test]
    fn short_links_are_not_cut() {
        assert_eq!(
            format("see https://example.com"),
            "<p>see <a href=\"https://example.com\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com</span><span class=\"invisible\"></span></a></p>"
        );
    }

    #[test]
    fn long_links_are_shortened_after_30_characters() {
        let link = "https://www.example.com/a/rather/long/path/to/a/page";
        assert_eq!(
            shortened_link(link),
            "<a href=\"https://www.example.com/a/rather/long/path/to/a/page\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://www.</span><span class=\"ellipsis\">example.com/a/rather/long/path</span><span class=\"invisible\">/to/a/page</span></a>"
        );
        // One character more than 30 is shown rather than replaced by an ellipsis.
        let link = "http://example.com/1234567890123456789";
        assert_eq!(link.len() - 7, 31);
        assert!(shortened_link(link).contains(
            "<span class=\"\">example.com/1234567890123456789</span><span class=\"invisible\"></span>"
        ));
    }

    #[test]
    fn punctuation_after_urls_is_not_part_of_them() {
        for (text, expected) in [
            ("https://example.com.", "https://example.com"),
            ("https://example.com/path.", "https://example.com/path"),
            ("https://example.com/path, and", "https://example.com/path"),
            ("(https://example.com/x)", "https://example.com/x"),
            ("https://example.com/x!", "https://example.com/x"),
            ("https://example.com/x?", "https://example.com/x"),
            (
                "https://example.com/a?b=c&d=e.",
                "https://example.com/a?b=c&d=e",
            ),
            ("\"https://example.com/q\"", "https://example.com/q"),
            (
                "https://en.wikipedia.org/wiki/Rust_(programming_language).",
                "https://en.wikipedia.org/wiki/Rust_(programming_language)",
            ),
            ("https://example.com:8443/x", "https://example.com:8443/x"),
            ("https://example.com/#frag", "https://example.com/#frag"),
            (
                "https://ja.wikipedia.org/wiki/日本 x",
                "https://ja.wikipedia.org/wiki/日本",
            ),
            ("HTTPS://EXAMPLE.COM/", "HTTPS://EXAMPLE.COM/"),
        ] {
            assert_eq!(kinds(text), vec![url(expected)], "{text}");
        }
    }

    #[test]
    fn things_that_are_not_urls() {
        for text in [
            "javascript:alert(1)",
            "ftp://example.com",
            "https://localhost/x",
            "https://",
            "xhttps://example.com",
            "https://user@example.com",
            "example.com",
        ] {
            assert!(
                kinds(text).iter().all(|k| !matches!(k, EntityKind::Url(_))),
                "{text}: {:?}",
                kinds(text)
            );
        }
    }

    #[test]
    fn xss_in_urls_stays_inert() {
        let html = format("https://example.com/\"onmouseover=alert(1)");
        assert!(
            html.contains("href=\"https://example.com/&quot;onmouseover"),
            "{html}"
        );
        assert!(!html.contains("\" onmouseover"), "{html}");
        let html = format("https://example.com/<script>alert(1)</script>");
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn mentions_at_start_middle_and_end() {
        assert_eq!(format("@alice hi"), format!("<p>{ALICE} hi</p>"));
        assert_eq!(format("hi @alice, you"), format!("<p>hi {ALICE}, you</p>"));
        assert_eq!(format("hi @alice"), format!("<p>hi {ALICE}</p>"));
        assert_eq!(format("hi @ALICE."), format!("<p>hi {ALICE}.</p>"));
        assert_eq!(format("@alice@fulmar.test"), format!("<p>{ALICE}</p>"));
        assert_eq!(format("@alice@FULMAR.test"), format!("<p>{ALICE}</p>"));
        let dev = Urls::new("http", "localhost:3000");
        assert_eq!(
            mention_key(&dev, "Alice", Some("localhost")),
            ("alice".to_string(), None)
        );
    }

    #[test]
    fn remote_and_unknown_mentions() {
        assert_eq!(
            format("cc @bob@remote.example!"),
            "<p>cc <span class=\"h-card\" translate=\"no\"><a href=\"https://remote.example/@bob\" class=\"u-url mention\">@<span>bob</span></a></span>!</p>"
        );
        assert_eq!(format("hi @nobody"), "<p>hi @nobody</p>");
        assert_eq!(format("hi @bob"), "<p>hi @bob</p>");
        assert_eq!(
            format("hi @bob@elsewhere.example"),
            "<p>hi @bob@elsewhere.example</p>"
        );
    }

    #[test]
    fn a_hostile_remote_profile_url_is_neutralised() {
        let u = urls();
        let mut targets = HashMap::new();
        targets.insert(
            ("eve".to_string(), Some("evil.example".to_string())),
            MentionTarget {
                url: "javascript:alert(document.cookie)".into(),
                username: "eve\"><script>".into(),
            },
        );
        let text = "hi @eve@evil.example";
        let html = sanitize(&render(&u, text, &extract_entities(text), &targets));
        assert_eq!(
            html,
            "<p>hi <span class=\"h-card\" translate=\"no\"><a class=\"u-url mention\">@<span>eve\"&gt;&lt;script&gt;</span></a></span></p>"
        );
    }

    #[test]
    fn mention_rules() {
        assert_eq!(kinds("mail me@example.com"), vec![]);
        assert_eq!(kinds("a=@alice"), vec![]);
        assert_eq!(kinds("@alice@"), vec![]);
        assert_eq!(kinds("@alice://x"), vec![]);
        assert_eq!(kinds("@aliceé"), vec![]);
        assert_eq!(kinds("@alice.bob."), vec![mention("alice.bob", None)]);
        assert_eq!(
            kinds("(@bob@remote.example.)"),
            vec![mention("bob", Some("remote.example"))]
        );
        assert_eq!(kinds("@a @b"), vec![mention("a", None), mention("b", None)]);
        assert_eq!(
            kinds("https://remote.example/@bob"),
            vec![url("https://remote.example/@bob")]
        );
    }

    #[test]
    fn hashtags() {
        assert_eq!(
            format("#Rust is fun"),
            "<p><a href=\"https://fulmar.test/tags/Rust\" class=\"mention hashtag\" rel=\"tag\">#<span>Rust</span></a> is fun</p>"
        );
        assert_eq!(kinds("#café."), vec![tag("café")]);
        assert_eq!(kinds("#日本語"), vec![tag("日本語")]);
        assert_eq!(kinds("#한국어 글"), vec![tag("한국어")]);
        assert_eq!(kinds("#तकनीकी"), vec![tag("तकनीकी")]);
        assert_eq!(kinds("#snake_case"), vec![tag("snake_case")]);
        assert_eq!(kinds("#1_2"), vec![tag("1_2")]);
        assert_eq!(kinds("#a·b·"), vec![tag("a·b")]);
        assert_eq!(kinds("＃full"), vec![tag("full")]);
        assert_eq!(kinds("#2024 #x1"), vec![tag("x1")]);
        assert_eq!(kinds("issue#12 a#b"), vec![]);
        assert_eq!(kinds("(#tag)"), vec![tag("tag")]);
        assert_eq!(kinds("#tag#other"), vec![tag("tag")]);
        // A scheme glued to a tag is not part of it.
        assert_eq!(kinds("#tophttps://example.com")[0], tag("top"));
        assert!(format("#日本語")
            .contains("href=\"https://fulmar.test/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E\""));
        assert_eq!(normalize_tag("RuSt"), "rust");
    }

    #[test]
    fn hashtags_inside_urls_are_not_tags() {
        assert_eq!(
            kinds("https://example.com/#anchor"),
            vec![url("https://example.com/#anchor")]
        );
        assert_eq!(
            kinds("https://example.com/page?q=1#x #real"),
            vec![url("https://example.com/page?q=1#x"), tag("real")]
        );
    }

    #[test]
    fn everything_together() {
        let html = format("Hello @alice!\n\nRead https://example.com/post and tell #Fediverse.");
        assert_eq!(
            html,
            format!(
                "<p>Hello {ALICE}!</p><p>Read <a href=\"https://example.com/post\" target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">https://</span><span class=\"\">example.com/post</span><span class=\"invisible\"></span></a> and tell <a href=\"https://fulmar.test/tags/Fediverse\" class=\"mention hashtag\" rel=\"tag\">#<span>Fediverse</span></a>.</p>"
            )
        );
        // Our own output survives sanitising unchanged.
        assert_eq!(sanitize(&html), html);
    }

    #[test]
    fn sanitizer_keeps_the_allow_list_only() {
        assert_eq!(
            sanitize("<p onclick=\"x()\">hi <b>there</b><script>alert(1)</script></p>"),
            "<p>hi <b>there</b></p>"
        );
        assert_eq!(
            sanitize("<a href=\"javascript:alert(1)\">x</a>"),
            "<a>x</a>"
        );
        assert_eq!(sanitize("<a href=\"/relative\">x</a>"), "<a>x</a>");
        assert_eq!(
            sanitize("<a href=\"https://e.example/\" rel=\"nofollow evil\" class=\"mention evil u-url\" target=\"_top\" style=\"x\">x</a>"),
            "<a href=\"https://e.example/\" rel=\"nofollow\" class=\"mention u-url\">x</a>"
        );
        assert_eq!(
            sanitize("<div><h1>Title</h1><img src=\"https://e.example/x.png\"><br/>text</div>"),
            "Title<br />text"
        );
        assert_eq!(
            sanitize("<style>p{}</style><!-- c --><em>x</em>"),
            "<em>x</em>"
        );
        assert_eq!(
            sanitize("<span class=\"h-card\" translate=\"no\" data-x=\"1\">x</span>"),
            "<span class=\"h-card\" translate=\"no\">x</span>"
        );
        assert_eq!(sanitize("<p>a<br>b</p>"), "<p>a<br />b</p>");
    }

    #[test]
    fn character_counting_follows_mastodon() {
        assert_eq!(countable_length("hello", ""), 5);
        assert_eq!(countable_length("hello", "cw"), 7);
        let long_url = format!("https://example.com/{}", "a".repeat(200));
        assert_eq!(countable_length(&long_url, ""), 23);
        assert_eq!(countable_length("https://a.example", ""), 23);
        assert_eq!(countable_length("@bob@remote.example hi", ""), 7);
        assert_eq!(countable_length("@alice hi", ""), 9);
        assert_eq!(countable_length("#tag", ""), 4);
        assert_eq!(countable_length("   ", ""), 0);
        // Emoji sequences count once each.
        assert_eq!(countable_length("👍🏽", ""), 1);
        assert_eq!(countable_length("👨‍👩‍👧", ""), 1);
        assert_eq!(countable_length("🇫🇷🇩🇪", ""), 2);
        assert_eq!(countable_length("e\u{301}", ""), 1);
        assert_eq!(countable_length("❤️", ""), 1);
        assert_eq!(countable_length("日本語", ""), 3);
    }

    #[test]
    fn blank_text_formats_to_nothing() {
        assert_eq!(simple_format(""), "");
        assert_eq!(format(""), "");
    }
}
