//! The p0f v2 API formats: the server's query decoder never panics, a
//! decoded query re-encodes to the bytes it came from (apart from the
//! padding p0f 2 leaves undefined), and replies survive decode(encode(x))
//! == x.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_api::v2::{Query, QueryError, Response, MAGIC, QUERY_LEN, RESPONSE_LEN};

/// Bytes of a reply that carry nothing (alignment padding).
const REPLY_PADDING: [usize; 3] = [133, 138, 139];

fuzz_target!(|data: &[u8]| {
    let mut q = [0u8; QUERY_LEN];
    let n = data.len().min(QUERY_LEN);
    q[..n].copy_from_slice(&data[..n]);
    if data.first().is_some_and(|b| b & 1 == 1) {
        q[..4].copy_from_slice(&MAGIC.to_ne_bytes());
    }
    match Query::decode(&q) {
        Ok(query) => {
            let back = query.encode();
            assert_eq!(Query::decode(&back), Ok(query));
            assert_eq!(back[..5], q[..5]);
            assert_eq!(back[8..], q[8..]);
        }
        Err(QueryError::BadType { id, qtype }) => {
            assert_eq!(id.to_ne_bytes(), q[8..12]);
            assert_eq!(qtype, q[4]);
        }
        Err(QueryError::BadMagic(m)) => assert_ne!(m, MAGIC),
    }

    let mut r = [0u8; RESPONSE_LEN];
    let rest = data.get(QUERY_LEN..).unwrap_or_default();
    let n = rest.len().min(RESPONSE_LEN);
    r[..n].copy_from_slice(&rest[..n]);
    if data.first().is_some_and(|b| b & 2 == 2) {
        r[..4].copy_from_slice(&MAGIC.to_ne_bytes());
    }
    if let Some(resp) = Response::decode(&r) {
        let back = resp.encode();
        for (i, (a, b)) in back.iter().zip(&r).enumerate() {
            if !REPLY_PADDING.contains(&i) {
                assert_eq!(a, b, "byte {i} lost in decoding");
            }
        }
        assert_eq!(Response::decode(&back), Some(resp));
        let _ = (resp.genre.as_string(), resp.detail.as_string());
    }
});
