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

mod lp {
    use std::ffi::{c_char, c_int, c_void, CString};
    use std::path::Path;

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

    pub struct Lp {
        _lib: libloading::Library,
        open: OpenOffline,
        next: NextEx,
        close: Close,
        datalink: Datalink,
    }

    /// How a comparison ended.
    #[derive(Debug, PartialEq, Eq)]
    pub enum End {
        BothFailOpen,
        Eof,
        Error,
    }

    impl Lp {
        pub fn load() -> Option<Lp> {
            // SAFETY: loading libpcap; signatures from pcap/pcap.h.
            unsafe {
                let lib = libloading::Library::new("libpcap.so.0.8").ok()?;
                Some(Lp {
                    open: *lib.get::<OpenOffline>(b"pcap_open_offline\0").ok()?,
                    next: *lib.get::<NextEx>(b"pcap_next_ex\0").ok()?,
                    close: *lib.get::<Close>(b"pcap_close\0").ok()?,
                    datalink: *lib.get::<Datalink>(b"pcap_datalink\0").ok()?,
                    _lib: lib,
                })
            }
        }

        /// Compare our reader with libpcap on one file: Err(description)
        /// at the first difference.
        pub fn compare(&self, path: &Path) -> Result<(End, usize), String> {
            let c = CString::new(path.to_str().unwrap()).unwrap();
            let mut errbuf = [0 as c_char; 256];
            let p = unsafe { (self.open)(c.as_ptr(), errbuf.as_mut_ptr()) };
            let ours = p0f_capture::CaptureFile::open(path);
            let mut cf = match (p.is_null(), ours) {
                (true, Err(_)) => return Ok((End::BothFailOpen, 0)),
                (false, Ok(cf)) => cf,
                (lnull, ours) => {
                    if !lnull {
                        unsafe { (self.close)(p) };
                    }
                    return Err(format!(
                        "open: libpcap ok={} ours={:?}",
                        !lnull,
                        ours.map(|c| c.link_type())
                    ));
                }
            };
            let res = (|| {
                if cf.link_type() as c_int != unsafe { (self.datalink)(p) } {
                    return Err("link type differs".to_string());
                }
                let mut i = 0;
                loop {
                    let mut h: *const Hdr = std::ptr::null();
                    let mut d: *const u8 = std::ptr::null();
                    let rc = unsafe { (self.next)(p, &mut h, &mut d) };
                    match (rc, cf.next_packet()) {
                        (1, Ok(Some(pk))) => {
                            let h = unsafe { &*h };
                            let data = unsafe { std::slice::from_raw_parts(d, h.caplen as usize) };
                            if (h.ts.tv_sec, h.ts.tv_usec as u32, h.caplen, h.len, data)
                                != (pk.ts_sec, pk.ts_usec, pk.caplen, pk.len, pk.data)
                            {
                                return Err(format!(
                                    "packet {i} differs: libpcap ({}, {}, {}, {}) ours ({}, {}, {}, {})",
                                    h.ts.tv_sec, h.ts.tv_usec, h.caplen, h.len,
                                    pk.ts_sec, pk.ts_usec, pk.caplen, pk.len
                                ));
                            }
                        }
                        (-2, Ok(None)) => return Ok((End::Eof, i)),
                        (-1, Err(_)) => return Ok((End::Error, i)),
                        (rc, ours) => {
                            return Err(format!(
                                "packet {i}: libpcap rc {rc}, ours {:?}",
                                ours.map(|o| o.map(|p| p.caplen))
                            ))
                        }
                    }
                    i += 1;
                }
            })();
            unsafe { (self.close)(p) };
            res
        }
    }
}

/// The reader delivers exactly what libpcap's `pcap_next_ex` delivers
/// (headers, bytes, and where reading stops) for every corpus capture.
#[test]
fn reader_agrees_with_libpcap() {
    let files = corpus();
    if files.is_empty() {
        return;
    }
    let Some(lp) = lp::Lp::load() else {
        eprintln!("note: libpcap not installed; skipping");
        return;
    };
    let mut bad = 0;
    for (path, _) in &files {
        if let Err(e) = lp.compare(path) {
            eprintln!("{}: {e}", path.display());
            bad += 1;
        }
    }
    eprintln!("reader vs libpcap: {} files, {bad} differ", files.len());
    assert_eq!(bad, 0);
}

/// Differential fuzzing: damaged copies of corpus captures (header fields
/// rewritten, bytes flipped, truncated) must read exactly as libpcap reads
/// them, including open failures and where reading stops.
#[test]
fn damaged_files_agree_with_libpcap() {
    let files = corpus();
    if files.is_empty() {
        return;
    }
    let Some(lp) = lp::Lp::load() else {
        eprintln!("note: libpcap not installed; skipping");
        return;
    };
    let iterations: usize = std::env::var("P0F_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Small captures of each format give the mutations something to hit.
    let mut samples: Vec<Vec<u8>> = Vec::new();
    for (path, _) in &files {
        let d = std::fs::read(path).unwrap();
        if d.len() <= 64 * 1024 {
            samples.push(d);
        }
    }
    let interesting: [u32; 12] = [
        0,
        1,
        2,
        3,
        4,
        12,
        0xff,
        0xffff,
        65535,
        262_144,
        262_145,
        0xffff_ffff,
    ];
    let dir = std::env::temp_dir().join(format!("p0f-capture-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = dir.join("f.pcap");
    let mut bad = 0;
    let mut ends = std::collections::BTreeMap::new();
    for it in 0..iterations {
        let mut d = samples[(rnd() % samples.len() as u64) as usize].clone();
        let nmut = 1 + rnd() % 4;
        for _ in 0..nmut {
            if d.is_empty() {
                break;
            }
            // Mostly near the start, where the headers are.
            let span = if rnd() % 2 == 0 {
                d.len().min(256)
            } else {
                d.len()
            };
            let pos = (rnd() % span as u64) as usize;
            match rnd() % 5 {
                0 => d[pos] ^= 1 << (rnd() % 8),
                1 => d[pos] = rnd() as u8,
                2 if pos + 4 <= d.len() => {
                    let v = interesting[(rnd() % interesting.len() as u64) as usize];
                    let b = if rnd() % 2 == 0 {
                        v.to_le_bytes()
                    } else {
                        v.to_be_bytes()
                    };
                    d[pos..pos + 4].copy_from_slice(&b);
                }
                3 => d.truncate(pos),
                _ => {
                    // Align to 4 and rewrite a word (pcapng fields are aligned).
                    let pos = pos & !3;
                    if pos + 4 <= d.len() {
                        let v = interesting[(rnd() % interesting.len() as u64) as usize];
                        d[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        std::fs::write(&tmp, &d).unwrap();
        match lp.compare(&tmp) {
            Ok((end, _)) => *ends.entry(format!("{end:?}")).or_insert(0) += 1,
            Err(e) => {
                bad += 1;
                if bad <= 10 {
                    let keep = dir.join(format!("bad-{it}.pcap"));
                    std::fs::write(&keep, &d).unwrap();
                    eprintln!("{}: {e}", keep.display());
                }
            }
        }
    }
    eprintln!("damaged files: {iterations} tried, {bad} differ, outcomes {ends:?}");
    if bad == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(bad, 0);
}
