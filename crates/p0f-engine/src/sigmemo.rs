//! A memo of recent SYN and SYN+ACK fingerprints.
//!
//! Busy links see the same few TCP stacks over and over: the MX benchmark
//! capture has 3,542 distinct SYNs in 200,000 connections. Matching a
//! signature against the database and writing its raw text cost about
//! 1,300 instructions a packet; hashing the facts they depend on and
//! finding them here costs a few dozen. The memo is direct-mapped and of
//! fixed size, allocated once: a new fingerprint simply replaces whatever
//! shared its slot, so memory never grows and nothing is ever stale (the
//! key holds every input of the match and of the raw text, and the
//! database never changes under an engine).

use p0f_sigdb::{TcpMatch, TcpObserved};

use crate::text::FixedText;

/// Slots in the memo (a power of two): about 130 KiB, and a raw signature
/// string each once filled.
const SLOTS: usize = 1024;

/// A raw signature's text; see `raw_sig_text` in `fingerprint.rs` for the bound.
pub(crate) type RawSig = FixedText<320>;

/// Everything the match and the raw signature depend on.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SigKey {
    /// The observed facts, with the timestamp reduced to whether it is
    /// zero: that is all the window-multiple check uses of it.
    obs: TcpObserved,
    syn_mss: u16,
    response: bool,
}

impl SigKey {
    pub(crate) fn new(response: bool, obs: &TcpObserved, syn_mss: u16) -> SigKey {
        let mut obs = *obs;
        obs.ts1 = u32::from(obs.ts1 != 0);
        SigKey {
            obs,
            syn_mss,
            response,
        }
    }
}

/// One memoised fingerprint. The raw signature is kept as a `String`, so
/// that a hit hands out text without checking it again; a slot's string is
/// reused when the slot is taken over, so the memo allocates at most once
/// per slot.
#[derive(Default)]
struct Slot {
    key: Option<SigKey>,
    matched: TcpMatch,
    raw_sig: String,
}

/// The hasher of the engine's memos (this one and `smtpmemo.rs`), with
/// fixed seeds, so that which keys share a slot, and so the instruction
/// counts of the benchmarks, repeat from run to run. Keys made to collide
/// only cost fresh matches, never a wrong answer. (The flow and host
/// tables keep random seeds.)
pub(crate) fn memo_hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x7030_6673, 0x7379_6e73, 0x6d65_6d6f, 0x2d72_7321)
}

pub(crate) struct SigMemo {
    slots: Vec<Slot>,
    hasher: ahash::RandomState,
}

impl SigMemo {
    pub(crate) fn new() -> SigMemo {
        SigMemo {
            slots: (0..SLOTS).map(|_| Slot::default()).collect(),
            hasher: memo_hasher(),
        }
    }

    /// The memoised match and raw signature for `key`, computed with
    /// `compute` when this key is not in its slot.
    pub(crate) fn get(
        &mut self,
        key: SigKey,
        compute: impl FnOnce() -> (TcpMatch, RawSig),
    ) -> (TcpMatch, &str) {
        let at = self.hasher.hash_one(key) as usize & (SLOTS - 1);
        let slot = &mut self.slots[at];
        if slot.key != Some(key) {
            let (matched, text) = compute();
            slot.key = Some(key);
            slot.matched = matched;
            slot.raw_sig.clear();
            slot.raw_sig.push_str(text.as_str());
        }
        (slot.matched, &slot.raw_sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawSig {
        let mut t = RawSig::new();
        t.push_str(text);
        t
    }

    fn key(win: u16, ts1: u32) -> SigKey {
        let obs = TcpObserved {
            ver: 4,
            ttl: 64,
            win,
            ts1,
            ..TcpObserved::default()
        };
        SigKey::new(false, &obs, 0)
    }

    #[test]
    fn a_key_is_computed_once_and_others_get_their_own_answer() {
        let mut memo = SigMemo::new();
        let computed = std::cell::Cell::new(0);
        let ask = |memo: &mut SigMemo, win: u16| {
            let (m, text) = memo.get(key(win, 7), || {
                computed.set(computed.get() + 1);
                let m = TcpMatch {
                    record: Some(u32::from(win)),
                    ..TcpMatch::default()
                };
                (m, raw(&format!("sig {win}")))
            });
            (m.record, text.to_string())
        };
        for win in 0..3000u16 {
            assert_eq!(
                ask(&mut memo, win),
                (Some(u32::from(win)), format!("sig {win}"))
            );
        }
        // Ask again: whatever was replaced in its slot is computed anew, and
        // every answer is still the key's own.
        for win in 0..3000u16 {
            assert_eq!(
                ask(&mut memo, win),
                (Some(u32::from(win)), format!("sig {win}"))
            );
        }
        let before = computed.get();
        ask(&mut memo, 2999);
        assert_eq!(
            computed.get(),
            before,
            "the last key asked is still in its slot"
        );
    }

    #[test]
    fn only_whether_the_timestamp_is_zero_is_part_of_the_key() {
        assert!(key(1, 5) == key(1, 9));
        assert!(key(1, 0) != key(1, 9));
    }
}
