//! A memo of recent SMTP client and server matches, by raw signature.
//!
//! Matching a dialogue walks every `[smtp:*]` record (about 1,500
//! instructions on the built-in database, `docs/smtp.md#cost`), while a
//! mail server's traffic repeats a few dialects and its own banner all
//! day. The raw signature holds every fact matching looks at
//! (`p0f_smtp::match_client_sig`), so the record of one is the record of
//! every equal one. Like the SYN memo (`sigmemo.rs`) it is of fixed size,
//! but two-way: a new signature replaces the one of its set used longer
//! ago, memory never grows, a slot's string is reused when it is taken
//! over, and the database never changes under an engine, so nothing is
//! stale.

/// Sets per side (a power of two), of two slots each. Distinct dialects
/// are few; the server side's banners name their hosts, a slot each.
const SETS: usize = 64;

#[derive(Default)]
struct Slot {
    raw_sig: String,
    filled: bool,
    record: Option<u32>,
}

/// The records raw signatures matched, for one side (client or server).
pub(crate) struct SmtpMemo {
    slots: Vec<Slot>,
    /// Per set, the slot the next new signature takes: the one not used last.
    victim: Vec<u8>,
    hasher: ahash::RandomState,
}

impl SmtpMemo {
    pub(crate) fn new() -> SmtpMemo {
        SmtpMemo {
            slots: (0..2 * SETS).map(|_| Slot::default()).collect(),
            victim: vec![0; SETS],
            hasher: crate::sigmemo::memo_hasher(),
        }
    }

    /// The record `raw_sig` matched, computed with `matcher` when this
    /// signature is in neither slot of its set. Two ways, so that two
    /// dialects sharing a set do not push each other out.
    pub(crate) fn record(
        &mut self,
        raw_sig: &str,
        matcher: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        let set = self.hasher.hash_one(raw_sig) as usize & (SETS - 1);
        let hit = (0..2).find(|&way| {
            let slot = &self.slots[2 * set + way];
            slot.filled && slot.raw_sig == raw_sig
        });
        let way = match hit {
            Some(way) => way,
            None => {
                let way = usize::from(self.victim[set]);
                let slot = &mut self.slots[2 * set + way];
                slot.record = matcher();
                slot.raw_sig.clear();
                slot.raw_sig.push_str(raw_sig);
                slot.filled = true;
                way
            }
        };
        self.victim[set] = 1 - way as u8;
        self.slots[2 * set + way].record
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn each_signature_gets_its_own_record_and_repeats_are_not_matched_again() {
        let mut memo = SmtpMemo::new();
        let matched = Cell::new(0);
        let ask = |memo: &mut SmtpMemo, i: u32| {
            memo.record(&format!("wait:EHLO:fqdn:{i}"), || {
                matched.set(matched.get() + 1);
                (!i.is_multiple_of(3)).then_some(i)
            })
        };
        // Many more signatures than slots, twice over: every answer is the
        // signature's own, whatever was replaced in its slot.
        for _ in 0..2 {
            for i in 0..1000 {
                assert_eq!(
                    ask(&mut memo, i),
                    (!i.is_multiple_of(3)).then_some(i),
                    "{i}"
                );
            }
        }
        assert_eq!(memo.slots.len(), 2 * SETS, "the memo does not grow");
        let before = matched.get();
        assert_eq!(ask(&mut memo, 998), Some(998));
        assert_eq!(matched.get(), before, "the last ones asked are remembered");
        // A remembered "no record" is an answer too, not a miss.
        assert_eq!(ask(&mut memo, 0), None);
        let before = matched.get();
        assert_eq!(ask(&mut memo, 0), None);
        assert_eq!(matched.get(), before);
    }

    #[test]
    fn two_signatures_of_one_set_both_stay() {
        let mut memo = SmtpMemo::new();
        let hasher = memo.hasher.clone();
        let set = |raw: &str| hasher.hash_one(raw) as usize & (SETS - 1);
        let first = "wait:EHLO:fqdn:0".to_string();
        let other = (1..)
            .map(|i| format!("wait:EHLO:fqdn:{i}"))
            .find(|s| set(s) == set(&first))
            .expect("some signature shares the set");
        memo.record(&first, || Some(1));
        memo.record(&other, || Some(2));
        for _ in 0..3 {
            assert_eq!(
                memo.record(&first, || panic!("first matched again")),
                Some(1)
            );
            assert_eq!(
                memo.record(&other, || panic!("other matched again")),
                Some(2)
            );
        }
        // A third one of the set replaces the one used longest ago.
        let third = (10_000..)
            .map(|i| format!("wait:EHLO:fqdn:{i}"))
            .find(|s| set(s) == set(&first))
            .expect("a third signature shares the set");
        assert_eq!(memo.record(&third, || Some(3)), Some(3));
        assert_eq!(
            memo.record(&other, || panic!("other was used last")),
            Some(2)
        );
        assert_eq!(memo.record(&first, || Some(11)), Some(11));
    }

    #[test]
    fn an_empty_signature_is_a_key_like_any_other() {
        let mut memo = SmtpMemo::new();
        assert_eq!(memo.record("", || Some(7)), Some(7));
        assert_eq!(memo.record("", || panic!("matched again")), Some(7));
    }
}
