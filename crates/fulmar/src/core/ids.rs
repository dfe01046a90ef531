//! Time-sortable 64-bit ids, Mastodon's scheme: milliseconds since the Unix epoch
//! shifted left 16 bits, plus a 16-bit sequence. Clients sort ids by length then
//! lexically, so ids must only grow; they are rendered as decimal strings.
//!
//! The sequence starts at a random value each millisecond, so that two processes on
//! one database (a server and an admin command) are unlikely to collide, and the
//! primary key catches the rare case where they do.

use std::sync::Mutex;

use rand::Rng;

struct State {
    ms: i64,
    seq: u32,
}

static STATE: Mutex<State> = Mutex::new(State { ms: 0, seq: 0 });

/// A new id, greater than every id this process handed out before.
pub fn next_id() -> i64 {
    let now = super::time::now_ms();
    let mut st = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if now > st.ms {
        st.ms = now;
        // Start in the lower half so that a busy millisecond rarely spills over.
        st.seq = rand::thread_rng().gen_range(0..0x8000);
    } else {
        st.seq += 1;
        if st.seq > 0xffff {
            // More than 65,536 ids in one millisecond (or a clock that went back):
            // borrow from the next millisecond rather than repeat an id.
            st.ms += 1;
            st.seq = 0;
        }
    }
    (st.ms << 16) | i64::from(st.seq)
}

/// An id for something created at `ms` (a backfilled remote post, say), so that it
/// sorts in its right chronological place.
pub fn id_at(ms: i64) -> i64 {
    (ms.max(0) << 16) | i64::from(rand::thread_rng().gen::<u16>())
}

/// The millisecond part of an id.
pub fn id_time_ms(id: i64) -> i64 {
    id >> 16
}

/// Parses a decimal id from a URL or parameter.
pub fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_only_grow_and_carry_the_time() {
        let before = crate::core::time::now_ms();
        let mut last = 0;
        for _ in 0..200_000 {
            let id = next_id();
            assert!(id > last);
            last = id;
        }
        let after = crate::core::time::now_ms();
        // Borrowing from the future is bounded by the burst size.
        assert!(id_time_ms(last) >= before && id_time_ms(last) <= after + 10);
    }

    #[test]
    fn ids_for_past_times_sort_by_time() {
        let a = id_at(1_000_000);
        let b = id_at(1_000_001);
        assert!(a < b);
        assert_eq!(id_time_ms(a), 1_000_000);
    }

    #[test]
    fn parse_id_accepts_only_positive_decimals() {
        assert_eq!(parse_id("109372843234"), Some(109372843234));
        for bad in ["", "-1", "0", "12a", "99999999999999999999", " 1", "0x10"] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }
}
