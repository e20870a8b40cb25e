//! The hot path does not touch the heap: once the tables have warmed up,
//! whole connections (SYN, SYN+ACK, ACK, data, FIN) are processed without a
//! single allocation, observations included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use p0f_engine::{Config, Engine, Observation, Sink};
use p0f_sigdb::Database;

mod support;
use support::packet;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts what it is shown, without keeping it.
#[derive(Default)]
struct Tally {
    observations: usize,
    bytes: usize,
}

impl Sink for Tally {
    fn observation(&mut self, obs: &Observation<'_>) {
        self.observations += 1;
        self.bytes += obs
            .fields
            .iter()
            .map(|f| f.value.map_or(0, str::len))
            .sum::<usize>();
    }
    fn warning(&mut self, _: &str) {}
}

/// One SMTP-like connection from client `n`, as a list of packets.
fn connection(n: u32, tsval: u32) -> Vec<Vec<u8>> {
    let cli = [10, (n >> 16) as u8, (n >> 8) as u8, n as u8];
    let srv = [192, 0, 2, 25];
    let sport = 1024 + (n % 60000) as u16;
    let mut opts = vec![2, 4, 5, 180, 4, 2, 8, 10];
    opts.extend_from_slice(&tsval.to_be_bytes());
    opts.extend_from_slice(&[0, 0, 0, 0, 1, 3, 3, 7]);
    let (syn, ack, fin, psh) = (0x02, 0x10, 0x01, 0x08);
    vec![
        packet(cli, srv, sport, 25, syn, 100, 0, &opts, &[]),
        packet(srv, cli, 25, sport, syn | ack, 500, 101, &opts, &[]),
        packet(cli, srv, sport, 25, ack, 101, 501, &[], &[]),
        packet(
            srv,
            cli,
            25,
            sport,
            ack | psh,
            501,
            101,
            &[],
            b"220 mx ESMTP\r\n",
        ),
        packet(cli, srv, sport, 25, ack | psh, 101, 515, &[], b"EHLO x\r\n"),
        packet(cli, srv, sport, 25, fin | ack, 109, 515, &[], &[]),
    ]
}

#[test]
fn steady_state_traffic_does_not_allocate() {
    let cfg = Config {
        max_conn: 50,
        max_hosts: 200,
        ..Config::default()
    };
    let mut engine = Engine::new(Arc::new(Database::builtin()), cfg, p0f_wire_raw());
    let mut sink = Tally::default();
    // Build every packet first, so that only processing is measured.
    let traffic: Vec<Vec<Vec<u8>>> = (0..3000).map(|n| connection(n, 1000 + n * 10)).collect();
    let mut time = 1_700_000_000i64;
    let mut run = |engine: &mut Engine, sink: &mut Tally, conns: &[Vec<Vec<u8>>]| {
        for c in conns {
            time += 1;
            for p in c {
                engine.process(time, 0, p.len() as u32, p, sink);
            }
        }
    };
    // Warm up: fill and recycle the tables (more clients than -m allows).
    run(&mut engine, &mut sink, &traffic[..1000]);
    let seen_before = sink.observations;
    COUNTING.store(true, Ordering::SeqCst);
    run(&mut engine, &mut sink, &traffic[1000..]);
    COUNTING.store(false, Ordering::SeqCst);
    let allocations = ALLOCS.load(Ordering::SeqCst);
    assert!(
        sink.observations - seen_before >= 2000 * 3,
        "the traffic was fingerprinted"
    );
    assert_eq!(
        allocations, 0,
        "allocations while processing 2000 warmed-up connections"
    );
    assert!(engine.host_count() <= 201);
}

fn p0f_wire_raw() -> u32 {
    12 // DLT_RAW: packets start at the IP header
}
