//! The p0f v3 API formats: the server's query decoder never panics and
//! decodes everything that matters (re-encoding a decoded query gives the
//! same query and the same bytes wherever the address lives); replies
//! survive decode(encode(x)) == x and encode(decode(b)) == b.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_api::v3::{Query, QueryError, Response, QUERY_LEN, RESPONSE_LEN};

fuzz_target!(|data: &[u8]| {
    let mut q = [0u8; QUERY_LEN];
    let n = data.len().min(QUERY_LEN);
    q[..n].copy_from_slice(&data[..n]);
    match Query::decode(&q) {
        Ok(query) => {
            let back = query.encode();
            assert_eq!(Query::decode(&back), Ok(query));
            let used = if q[4] == 4 { 9 } else { QUERY_LEN };
            assert_eq!(back[..used], q[..used]);
        }
        Err(QueryError::BadAddressType(t)) => assert!(t != 4 && t != 6),
        Err(QueryError::BadMagic(m)) => assert_ne!(m, p0f_api::v3::QUERY_MAGIC),
    }

    let mut r = [0u8; RESPONSE_LEN];
    let rest = data.get(QUERY_LEN..).unwrap_or_default();
    let n = rest.len().min(RESPONSE_LEN);
    r[..n].copy_from_slice(&rest[..n]);
    // Most inputs lack the magic; give half of them the right one.
    if data.first().is_some_and(|b| b & 1 == 1) {
        r[..4].copy_from_slice(&p0f_api::v3::RESPONSE_MAGIC.to_ne_bytes());
    }
    if let Some(resp) = Response::decode(&r) {
        assert_eq!(resp.encode(), r, "decoding lost bytes");
        assert_eq!(Response::decode(&resp.encode()), Some(resp));
        let _ = (resp.os_name.as_string(), resp.language.as_string());
    }
});
