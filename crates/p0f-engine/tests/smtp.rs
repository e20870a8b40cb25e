//! SMTP observation through the engine: a whole dialogue as packets, the
//! observations it gives, the verdicts the API query returns during and
//! after it, and `--bug-compat`, which observes nothing.

use std::net::IpAddr;
use std::sync::Arc;

use p0f_api::smtp::{flag, SMTP_NONE, SMTP_OK};
use p0f_engine::{Config, Engine, Observation, Sink, Verdict};
use p0f_sigdb::Database;

mod support;
use support::packet;

/// The `key = value` lines of one observation.
type Fields = Vec<(String, String)>;

/// Keeps what the engine reports.
#[derive(Default)]
struct Recorder {
    blocks: Vec<(String, Fields, Verdict)>,
}

impl Sink for Recorder {
    fn observation(&mut self, obs: &Observation<'_>) {
        let fields = obs
            .fields
            .iter()
            .map(|f| (f.key.to_string(), f.value.unwrap_or("???").to_string()))
            .collect();
        self.blocks
            .push((obs.kind.to_string(), fields, obs.verdict));
    }
    fn warning(&mut self, _: &str) {}
}

impl Recorder {
    fn smtp(&self, kind: &str) -> Vec<&Fields> {
        self.blocks
            .iter()
            .filter(|b| b.0 == kind)
            .map(|b| &b.1)
            .collect()
    }
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|f| f.0 == key)
        .map_or("", |f| f.1.as_str())
}

const CLI: [u8; 4] = [198, 51, 100, 7];
const SRV: [u8; 4] = [192, 0, 2, 25];

/// One TCP connection, sequence numbers kept.
struct Conn {
    sport: u16,
    dport: u16,
    cseq: u32,
    sseq: u32,
    time: i64,
}

impl Conn {
    fn open(e: &mut Engine, r: &mut Recorder, sport: u16, dport: u16) -> Conn {
        let mut c = Conn {
            sport,
            dport,
            cseq: 1000,
            sseq: 5000,
            time: 1_700_000_000,
        };
        let opts = [2, 4, 5, 180, 1, 1, 4, 2];
        c.send(e, r, true, 0x02, &opts, &[]);
        c.cseq += 1;
        c.send(e, r, false, 0x12, &opts, &[]);
        c.sseq += 1;
        c.send(e, r, true, 0x10, &[], &[]);
        c
    }

    fn send(
        &mut self,
        e: &mut Engine,
        r: &mut Recorder,
        to_srv: bool,
        flags: u8,
        opts: &[u8],
        data: &[u8],
    ) {
        let p = if to_srv {
            packet(
                CLI, SRV, self.sport, self.dport, flags, self.cseq, self.sseq, opts, data,
            )
        } else {
            packet(
                SRV, CLI, self.dport, self.sport, flags, self.sseq, self.cseq, opts, data,
            )
        };
        e.process(self.time, 0, p.len() as u32, &p, r);
        let n = data.len() as u32;
        if to_srv {
            self.cseq = self.cseq.wrapping_add(n);
        } else {
            self.sseq = self.sseq.wrapping_add(n);
        }
    }

    fn client(&mut self, e: &mut Engine, r: &mut Recorder, data: &[u8]) {
        self.send(e, r, true, 0x18, &[], data);
    }

    fn server(&mut self, e: &mut Engine, r: &mut Recorder, data: &[u8]) {
        self.send(e, r, false, 0x18, &[], data);
    }

    fn fin(&mut self, e: &mut Engine, r: &mut Recorder) {
        self.send(e, r, true, 0x11, &[], &[]);
    }
}

/// An engine whose database has no SMTP signatures (p0f 3.09b's facts),
/// so that every dialect here is unknown whatever the built-in one says.
fn engine(bug_compat: bool) -> Engine {
    let cfg = Config {
        bug_compat,
        ..Config::default()
    };
    Engine::new(Arc::new(Database::builtin()), cfg, 12)
}

const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));

/// A pipelining MTA-like session, with the API asked along the way.
#[test]
fn a_session_gives_blocks_and_verdicts() {
    let (mut e, mut r) = (engine(false), Recorder::default());
    let mut c = Conn::open(&mut e, &mut r, 40000, 25);
    c.server(&mut e, &mut r, b"220 mx.example.org ESMTP Example\r\n");
    c.client(&mut e, &mut r, b"EHLO client.example.net\r\n");
    c.server(
        &mut e,
        &mut r,
        b"250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
    );
    assert_eq!(
        r.smtp("smtp server").len(),
        1,
        "reported once the EHLO reply is in"
    );
    let before = e.query_smtp(CLIENT, 40000);
    assert_eq!(before.smtp.status, SMTP_NONE, "no MAIL yet");
    c.client(
        &mut e,
        &mut r,
        b"MAIL FROM:<a@example.net> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\n",
    );
    // At RCPT: a provisional verdict, `end` not known yet.
    let at_rcpt = e.query_smtp(CLIENT, 40000);
    assert_eq!((at_rcpt.smtp.status, at_rcpt.smtp.stage), (SMTP_OK, 2));
    assert_eq!(at_rcpt.smtp.before_rcpt, 2);
    assert!(at_rcpt
        .smtp
        .raw_sig
        .as_string()
        .ends_with(":EHLO,MAIL,RCPT:-:?"));
    assert!(
        r.smtp("smtp client").is_empty(),
        "printed when the dialogue ends"
    );
    c.server(&mut e, &mut r, b"250 ok\r\n250 ok\r\n");
    c.client(&mut e, &mut r, b"DATA\r\n");
    c.server(&mut e, &mut r, b"354 go\r\n");
    c.client(&mut e, &mut r, b"Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
    let clients = r.smtp("smtp client");
    assert_eq!(clients.len(), 1);
    assert_eq!(
        field(clients[0], "raw_sig"),
        "wait:EHLO:fqdn:upper:nosp:nosp:BODY=8BITMIME:crlf:adv:EHLO,MAIL,RCPT:-:quit"
    );
    assert_eq!(field(clients[0], "flags"), "pipelining");
    let server = r.smtp("smtp server")[0];
    assert_eq!(
        field(server, "raw_sig"),
        "1:PIPELINING,8BITMIME:ESMTP Example"
    );
    assert_eq!(field(server, "flags"), "pipelining");
    let done = e.query_smtp(CLIENT, 40000);
    assert_eq!(done.smtp.stage, 3);
    assert!(done.smtp.flags & flag::QUIT != 0 && done.smtp.flags & flag::NO_QUIT == 0);
    assert_eq!(
        e.query_smtp(CLIENT, 0).smtp.cli_port,
        40000,
        "the host's last verdict"
    );
    c.fin(&mut e, &mut r);
    assert_eq!(r.smtp("smtp client").len(), 1, "not reported again at FIN");
    // Kept after the flow is gone.
    assert_eq!(e.query_smtp(CLIENT, 40000).smtp.stage, 3);
    assert_eq!(e.query_smtp(CLIENT, 40001).smtp.status, SMTP_NONE);
}

#[test]
fn a_bot_is_flagged_at_close() {
    let (mut e, mut r) = (engine(false), Recorder::default());
    let mut c = Conn::open(&mut e, &mut r, 40002, 587);
    c.client(
        &mut e,
        &mut r,
        b"helo pc\nmail from: <x@y>\nrcpt to: <z@w>\n",
    );
    c.server(&mut e, &mut r, b"220 mx ESMTP\r\n250 mx\r\n");
    c.fin(&mut e, &mut r);
    let clients = r.smtp("smtp client");
    assert_eq!(clients.len(), 1);
    assert_eq!(field(clients[0], "app"), "???", "unknown dialect");
    assert_eq!(field(clients[0], "flags"), "pregreet,bare_lf,no_quit");
    let v = e.query_smtp(CLIENT, 40002);
    for bit in [flag::PREGREET, flag::BARE_LF, flag::NO_QUIT] {
        assert!(v.smtp.flags & bit != 0);
    }
    assert_eq!(v.smtp.kind, 0);
}

#[test]
fn other_ports_and_bug_compat_observe_nothing() {
    for (bug_compat, port) in [(false, 2525), (true, 25)] {
        let (mut e, mut r) = (engine(bug_compat), Recorder::default());
        let mut c = Conn::open(&mut e, &mut r, 40003, port);
        c.server(&mut e, &mut r, b"220 mx ESMTP\r\n");
        c.client(
            &mut e,
            &mut r,
            b"EHLO a.b\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nQUIT\r\n",
        );
        c.fin(&mut e, &mut r);
        assert!(
            r.blocks.iter().all(|b| !b.0.starts_with("smtp")),
            "{bug_compat} {port}"
        );
        assert_eq!(e.query_smtp(CLIENT, 0).smtp.status, SMTP_NONE);
    }
}

#[test]
fn out_of_order_segments_are_not_read() {
    let (mut e, mut r) = (engine(false), Recorder::default());
    let mut c = Conn::open(&mut e, &mut r, 40004, 25);
    c.server(&mut e, &mut r, b"220 mx ESMTP\r\n");
    // A segment from the future (as after a lost one) is ignored.
    c.cseq += 100;
    c.client(&mut e, &mut r, b"QUIT\r\n");
    c.cseq -= 106;
    c.client(&mut e, &mut r, b"EHLO a.b\r\n");
    c.fin(&mut e, &mut r);
    let clients = r.smtp("smtp client");
    assert_eq!(clients.len(), 1);
    assert!(
        field(clients[0], "raw_sig").ends_with(":EHLO:-:close"),
        "{clients:?}"
    );
}

#[test]
fn expired_flows_report_their_dialogue() {
    let cfg = Config {
        conn_max_age: 5,
        ..Config::default()
    };
    let mut e = Engine::new(Arc::new(Database::builtin()), cfg, 12);
    let mut r = Recorder::default();
    let mut c = Conn::open(&mut e, &mut r, 40005, 25);
    c.server(&mut e, &mut r, b"220 mx ESMTP\r\n");
    c.client(&mut e, &mut r, b"EHLO a.b\r\n");
    // Unrelated packets much later: expiry runs every 50 packets.
    c.time += 60;
    for i in 0..60u16 {
        let p = packet(
            [203, 0, 113, 1],
            [203, 0, 113, 2],
            1000 + i,
            80,
            0x10,
            1,
            1,
            &[],
            &[],
        );
        e.process(c.time, 0, p.len() as u32, &p, &mut r);
    }
    assert_eq!(r.smtp("smtp client").len(), 1);
    assert!(field(r.smtp("smtp client")[0], "raw_sig").ends_with(":close"));
}

/// The observer's flag bits and printed names are the API's: the engine
/// hands the bits on as they are, and the mail policy's rules name them
/// from the API's table, so the definitions must never drift apart.
#[test]
fn observer_flags_are_the_api_flags() {
    use p0f_smtp::Flags;
    for (name, bit) in flag::NAMES {
        let mut printed = String::new();
        Flags(bit).push_names(&mut printed);
        // `quit` is the one flag the block leaves out (`no_quit` says the
        // interesting case); every other name prints as the API spells it.
        let expected = if bit == Flags::QUIT { "none" } else { name };
        assert_eq!(printed, expected, "bit {bit:#x}");
    }
    let observer_bits = Flags::NAMES.iter().fold(Flags::QUIT, |a, (b, _)| a | b);
    let api_bits = flag::NAMES.iter().fold(0, |a, (_, b)| a | b);
    assert_eq!(observer_bits, api_bits);
}
