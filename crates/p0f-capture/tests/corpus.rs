//! Validation against p0f 3.09b's own output on the shared corpus.

use std::path::{Path, PathBuf};

use p0f_capture::{libpcap_available, p0f_rule, BpfFilter, CaptureFile, DefaultFilter};

fn shared() -> Option<PathBuf> {
    let p = match std::env::var_os("P0F_SHARED") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    if p.join("corpus").is_dir() {
        Some(p)
    } else {
        eprintln!("note: shared corpus not found at {}; skipping", p.display());
        None
    }
}

/// Every capture with a `.p0f.out`, and the N from "All done. Processed N packets."
fn corpus() -> Vec<(PathBuf, u64)> {
    let Some(root) = shared() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let dev = root.join("corpus/dev");
    let mut dirs: Vec<_> = std::fs::read_dir(&dev)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let Some(base) = name.strip_suffix(".p0f.out") else {
                continue;
            };
            let text = std::fs::read_to_string(&f).unwrap();
            let last = text.lines().rev().find(|l| !l.is_empty()).unwrap_or("");
            let n: u64 = last
                .strip_prefix("All done. Processed ")
                .and_then(|r| r.strip_suffix(" packets."))
                .unwrap_or_else(|| panic!("{}: no packet count", f.display()))
                .parse()
                .unwrap();
            out.push((d.join(base), n));
        }
    }
    out
}

#[test]
fn packet_counts_match_p0f() {
    let files = corpus();
    if files.is_empty() {
        return;
    }
    let mut failures = Vec::new();
    for (path, want) in &files {
        let mut cf = match CaptureFile::open(path) {
            Ok(cf) => cf,
            Err(e) => {
                failures.push(format!("{}: open failed: {e}", path.display()));
                continue;
            }
        };
        let filter = DefaultFilter::for_capture(&cf);
        let mut n = 0u64;
        let mut err = None;
        loop {
            match cf.next_packet() {
                Ok(Some(p)) => {
                    if filter.matches(p.data, p.len) {
                        n += 1;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if n != *want {
            failures.push(format!(
                "{}: dlt {} got {n} want {want} (stop: {:?})",
                path.display(),
                cf.link_type(),
                err
            ));
        }
    }
    for f in &failures {
        eprintln!("{f}");
    }
    eprintln!(
        "{}/{} corpus files match p0f's packet count",
        files.len() - failures.len(),
        files.len()
    );
    assert!(failures.is_empty());
}

/// The native default filter agrees with libpcap's compiled program on every
/// packet of every corpus capture (compiled as p0f does, against a savefile
/// handle with the capture's link type and byte order).
#[test]
fn default_filter_agrees_with_libpcap() {
    let files = corpus();
    if files.is_empty() {
        return;
    }
    if !libpcap_available() {
        eprintln!("note: libpcap not installed; skipping");
        return;
    }
    let mut mismatches = 0usize;
    let mut packets = 0usize;
    let mut dlts = std::collections::BTreeSet::new();
    for (path, _) in &files {
        let mut cf = CaptureFile::open(path).unwrap();
        let dlt = cf.link_type();
        dlts.insert(dlt);
        let native = DefaultFilter::for_capture(&cf);
        let bpf = BpfFilter::compile_for_capture(&p0f_rule(None, dlt), &cf).unwrap();
        // Also a handle from pcap_open_dead, which differs only for
        // DLT_NULL/DLT_LOOP IPv6.
        let dead = BpfFilter::compile(&p0f_rule(None, dlt), dlt).unwrap();
        let live = DefaultFilter::new_live(dlt);
        while let Ok(Some(p)) = cf.next_packet() {
            packets += 1;
            let a = native.matches(p.data, p.len);
            let b = bpf.matches(&p);
            let c = live.matches(p.data, p.len);
            let d = dead.matches(&p);
            if a != b || c != d {
                mismatches += 1;
                if mismatches < 20 {
                    eprintln!(
                        "{}: dlt {dlt} native {a} libpcap {b} live {c} dead {d} data {:02x?}",
                        path.display(),
                        &p.data[..p.data.len().min(64)]
                    );
                }
            }
        }
    }
    eprintln!("{packets} packets compared, link types {dlts:?}");
    assert_eq!(mismatches, 0);
}

#[test]
fn syntax_error_is_reported() {
    if !libpcap_available() {
        eprintln!("note: libpcap not installed; skipping");
        return;
    }
    let err = BpfFilter::compile("tcp and (port", 1).unwrap_err();
    match err {
        p0f_capture::FilterError::Syntax(msg) => assert!(msg.contains("syntax"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(BpfFilter::compile(&p0f_rule(Some("port 80"), 1), 1).is_ok());
    assert!(BpfFilter::compile(&p0f_rule(Some("port 80"), 113), 113).is_ok());
}

/// The reader delivers exactly what libpcap's `pcap_next_ex` delivers
/// (headers, bytes, and where reading stops) for every corpus capture.
#[test]
fn reader_agrees_with_libpcap() {
    use std::ffi::{c_char, c_int, c_void, CString};
    let files = corpus();
    if files.is_empty() {
        return;
    }
    // SAFETY: loading libpcap; signatures from pcap/pcap.h.
    let lib = match unsafe { libloading::Library::new("libpcap.so.0.8") } {
        Ok(l) => l,
        Err(_) => {
            eprintln!("note: libpcap not installed; skipping");
            return;
        }
    };
    #[repr(C)]
    struct Hdr {
        ts: libc::timeval,
        caplen: u32,
        len: u32,
    }
    type OpenOffline = unsafe extern "C" fn(*const c_char, *mut c_char) -> *mut c_void;
    type NextEx = unsafe extern "C" fn(*mut c_void, *mut *const Hdr, *mut *const u8) -> c_int;
    type Close = unsafe extern "C" fn(*mut c_void);
    type Datalink = unsafe extern "C" fn(*mut c_void) -> c_int;
    let (open, next, close, datalink) = unsafe {
        (
            *lib.get::<OpenOffline>(b"pcap_open_offline\0").unwrap(),
            *lib.get::<NextEx>(b"pcap_next_ex\0").unwrap(),
            *lib.get::<Close>(b"pcap_close\0").unwrap(),
            *lib.get::<Datalink>(b"pcap_datalink\0").unwrap(),
        )
    };
    let mut bad = 0;
    let mut stopped_by_error = 0;
    for (path, _) in &files {
        let c = CString::new(path.to_str().unwrap()).unwrap();
        let mut errbuf = [0 as c_char; 256];
        let p = unsafe { open(c.as_ptr(), errbuf.as_mut_ptr()) };
        assert!(!p.is_null(), "{}", path.display());
        let mut cf = CaptureFile::open(path).unwrap();
        assert_eq!(cf.link_type() as c_int, unsafe { datalink(p) });
        let mut i = 0;
        loop {
            let mut h: *const Hdr = std::ptr::null();
            let mut d: *const u8 = std::ptr::null();
            let rc = unsafe { next(p, &mut h, &mut d) };
            let ours = cf.next_packet();
            match (rc, ours) {
                (1, Ok(Some(pk))) => {
                    let h = unsafe { &*h };
                    let data = unsafe { std::slice::from_raw_parts(d, h.caplen as usize) };
                    if (h.ts.tv_sec, h.ts.tv_usec as u32, h.caplen, h.len, data)
                        != (pk.ts_sec, pk.ts_usec, pk.caplen, pk.len, pk.data)
                    {
                        eprintln!("{}: packet {i} differs", path.display());
                        bad += 1;
                        break;
                    }
                }
                (-2, Ok(None)) => break,
                (-1, Err(_)) => {
                    stopped_by_error += 1;
                    break;
                }
                (rc, ours) => {
                    eprintln!(
                        "{}: packet {i}: libpcap rc {rc}, ours {:?}",
                        path.display(),
                        ours.map(|o| o.map(|p| p.caplen))
                    );
                    bad += 1;
                    break;
                }
            }
            i += 1;
        }
        unsafe { close(p) };
    }
    eprintln!(
        "reader vs libpcap: {} files, {bad} differ, {stopped_by_error} end with a read error",
        files.len()
    );
    assert_eq!(bad, 0);
}
