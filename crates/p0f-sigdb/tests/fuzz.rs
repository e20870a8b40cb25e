//! Property tests: parsing and matching never panic.

use p0f_sigdb::*;
use proptest::prelude::*;

/// Lines of both built-in databases, as material for mutated files.
fn builtin_lines() -> Vec<&'static [u8]> {
    BUILTIN_FP
        .split(|&c| c == b'\n')
        .chain(CURRENT_FP.split(|&c| c == b'\n'))
        .collect()
}

/// Characters that matter to the grammar, to reach deeper parser states.
fn grammar_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b":,+-*%?=[]@!;. \t\r\n0123456789".to_vec()),
        prop::sample::select(b"mssmtuwsoknpeoltsackdfidecnflowseqackuptrurgpushbad".to_vec()),
        any::<u8>(),
    ]
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Truncate(usize),
    Duplicate,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), grammar_byte()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), grammar_byte()).prop_map(|(i, b)| Edit::Replace(i, b)),
        any::<usize>().prop_map(Edit::Truncate),
        Just(Edit::Duplicate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Database::parse(&data, "fuzz");
    }

    #[test]
    fn grammar_soup_never_panics(
        lines in prop::collection::vec(prop::collection::vec(grammar_byte(), 0..60), 0..40)
    ) {
        let mut text = b"classes = win,unix\n[tcp:request]\nlabel = s:unix:A:\n".to_vec();
        for l in lines {
            text.extend_from_slice(b"sig = ");
            text.extend_from_slice(&l);
            text.push(b'\n');
        }
        let _ = Database::parse(&text, "fuzz");
    }

    #[test]
    fn mutated_stock_lines_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), edit()), 1..6)
    ) {
        let mut lines: Vec<Vec<u8>> = builtin_lines().into_iter().map(<[u8]>::to_vec).collect();
        for (which, e) in edits {
            let n = which.index(lines.len());
            let line = &mut lines[n];
            let len = line.len();
            match e {
                Edit::Insert(i, b) => line.insert(i % (len + 1), b),
                Edit::Delete(i) if len > 0 => { line.remove(i % len); }
                Edit::Replace(i, b) if len > 0 => line[i % len] = b,
                Edit::Truncate(i) => line.truncate(i % (len + 1)),
                Edit::Duplicate => { let copy = line.clone(); lines.insert(n, copy); }
                _ => {}
            }
        }
        let text = lines.join(&b'\n');
        if let Ok(db) = Database::parse(&text, "fuzz") {
            prop_assert!(db.sig_count() > 0);
        }
    }

    #[test]
    fn matching_never_panics(
        ver in prop::sample::select(vec![4u8, 6]),
        ttl in any::<u8>(), olen in any::<u8>(), mss in any::<u16>(), win in any::<u16>(),
        wscale in any::<u8>(), kinds in prop::collection::vec(
            prop::sample::select(vec![0u8, 1, 2, 3, 4, 5, 8, 30]), 0..8),
        eol_pad in 0u8..4, quirks in any::<u32>(), payload in any::<bool>(),
        tot_hdr in any::<u16>(), ts1 in any::<u32>(), syn_mss in any::<u16>(),
        response in any::<bool>(),
    ) {
        static DBS: std::sync::OnceLock<[Database; 2]> = std::sync::OnceLock::new();
        let dbs = DBS.get_or_init(|| [Database::stock_facts(), Database::current()]);
        let mut layout = OptLayout::new();
        for k in kinds { layout.push(k); }
        let obs = TcpObserved {
            ver, ttl, ip_opt_len: olen, mss, win, wscale, layout, eol_pad,
            quirks: Quirks(quirks), has_payload: payload, tot_hdr, ts1,
        };
        for db in dbs {
            let m = db.match_tcp(response, &obs, syn_mss);
            if let Some(r) = m.record {
                let list = if response { &db.tcp_response } else { &db.tcp_request };
                prop_assert!((r as usize) < list.len());
                prop_assert_eq!(list[r as usize].sig.layout, layout);
            }
        }
        let _ = classify_window(&obs, syn_mss);
    }
}
