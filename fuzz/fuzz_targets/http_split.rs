//! The HTTP parser fed a request and a response in arbitrary splits, as the
//! engine feeds it: no panic, well-formed messages, at most one message per
//! direction, and (with p0f's split-response bug fixed, the default) the
//! result does not depend on how the bytes were segmented.
#![no_main]
use libfuzzer_sys::fuzz_target;
use p0f_fuzz::Cursor;
use p0f_http::{
    HttpFlow, Message, MAX_FLOW_DATA, MAX_HEADERS, MAX_HEADER_NAME, MAX_HEADER_VALUE,
};

struct Feeder {
    flow: HttpFlow,
    bufs: [Vec<u8>; 2],
    compat: bool,
    messages: Vec<Message>,
    destroyed: bool,
}

impl Feeder {
    fn new(compat: bool) -> Feeder {
        Feeder {
            flow: HttpFlow::new(),
            bufs: [Vec::new(), Vec::new()],
            compat,
            messages: Vec::new(),
            destroyed: false,
        }
    }

    /// One payload segment, appended to its direction's buffer (capped at
    /// the engine's 8 KB) before the parser looks at it.
    fn segment(&mut self, to_srv: bool, seg: &[u8]) {
        if self.destroyed || seg.is_empty() {
            return;
        }
        let b = &mut self.bufs[usize::from(to_srv)];
        let room = MAX_FLOW_DATA - b.len();
        b.extend_from_slice(&seg[..seg.len().min(room)]);
        let step = self.flow.process(to_srv, b, b.len() < MAX_FLOW_DATA, self.compat);
        if !step.need_more {
            assert!(self.flow.is_off(), "flow to destroy is still active");
        }
        if let Some(m) = step.completed {
            self.messages.push(m);
        }
        if !step.need_more || self.bufs.iter().all(|b| b.len() >= MAX_FLOW_DATA) {
            self.destroyed = true;
        }
    }

    fn feed(&mut self, to_srv: bool, data: &[u8], cuts: &[usize]) {
        let mut at = 0;
        for &n in cuts {
            if at >= data.len() {
                break;
            }
            let end = (at + n).min(data.len());
            self.segment(to_srv, &data[at..end]);
            at = end;
        }
        self.segment(to_srv, &data[at.min(data.len())..]);
    }
}

fn check(m: &Message) {
    assert!(m.headers.len() <= MAX_HEADERS);
    assert!(m.ver <= 1);
    for h in &m.headers {
        assert!(!h.name.is_empty() && h.name.len() <= MAX_HEADER_NAME);
        if let Some(v) = &h.value {
            assert!(v.len() <= MAX_HEADER_VALUE && !v.contains(&b'\n'));
        }
    }
}

fn run(compat: bool, req: &[u8], req_cuts: &[usize], resp: &[u8], resp_cuts: &[usize]) -> Feeder {
    let mut f = Feeder::new(compat);
    f.feed(true, req, req_cuts);
    f.feed(false, resp, resp_cuts);
    f
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let ncuts = usize::from(c.u8() % 16);
    let req_cuts: Vec<usize> = (0..ncuts).map(|_| 1 + usize::from(c.u8())).collect();
    let ncuts = usize::from(c.u8() % 16);
    let resp_cuts: Vec<usize> = (0..ncuts).map(|_| 1 + usize::from(c.u8())).collect();
    let split = usize::from(c.u16());
    let rest = c.rest();
    let (req, resp) = rest.split_at(split.min(rest.len()));

    let whole = run(false, req, &[], resp, &[]);
    let split = run(false, req, &req_cuts, resp, &resp_cuts);
    let compat = run(true, req, &req_cuts, resp, &resp_cuts);
    for m in whole.messages.iter().chain(&split.messages).chain(&compat.messages) {
        check(m);
    }
    assert!(whole.messages.len() <= 2 && compat.messages.len() <= 2);
    assert_eq!(split.messages, whole.messages, "segmentation changed the result");
    assert_eq!(split.flow.is_off(), whole.flow.is_off());
    // The response bug never touches requests.
    assert_eq!(
        compat.messages.iter().find(|m| m.request),
        whole.messages.iter().find(|m| m.request)
    );
});
