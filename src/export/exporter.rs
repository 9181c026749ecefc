//! One exporter's delivery: its buffer, the requests it has out, and its retry state.
//!
//! Items leave the buffer in batches; a batch stays held (counted against the buffer's caps)
//! until its answer says what became of each item: accepted, refused (dropped with a reason),
//! or to be sent again (back in front of the buffer, in order). After a retriable failure the
//! exporter pauses (Retry-After, or exponential backoff with jitter) before sending again.

use super::batcher::{Batch, BatchLimits, Batcher, Item};
use super::retry::{backoff_ms, resolve_location, Verdict};
use crate::diagnostics::{Diagnostics, DropReason};
use crate::platform::{ExportRequest, ExportResponse, ResponseHeaders};

/// A keepalive request body must stay under the browsers' 64 KiB keepalive budget.
pub const KEEPALIVE_MAX_BYTES: usize = 60 * 1024;
/// Redirects followed in a row before the exporter waits as after a failure.
const MAX_REDIRECTS_IN_A_ROW: u32 = 10;

struct InFlight {
    id: u64,
    items: Vec<Item>,
    /// Body bytes of a keepalive request (0 for others): they count against the page's
    /// keepalive budget until answered.
    keepalive_bytes: usize,
}

/// How one protocol frames a request: content type, extra headers, and the text around the
/// comma-joined items.
#[derive(Clone, Debug, Default)]
pub struct Framing {
    pub content_type: &'static str,
    /// The content type of keepalive (unload) requests, where the protocol accepts a
    /// CORS-safelisted one (`text/plain` needs no preflight); `None`: the usual one.
    pub keepalive_content_type: Option<&'static str>,
    pub headers: Vec<(String, String)>,
    pub prefix: String,
    pub suffix: String,
    /// Compress bodies (gzip) where the platform can.
    pub gzip: bool,
}

pub struct Exporter {
    url: String,
    framing: Framing,
    batcher: Batcher,
    in_flight: Vec<InFlight>,
    max_in_flight: usize,
    /// Failures in a row; sets the backoff.
    failures: u32,
    /// No request leaves before this time (Unix nanoseconds).
    paused_until: Option<u64>,
    redirects_in_a_row: u32,
    /// After a 413, batches are cut to this many items until one is accepted.
    split_items: Option<usize>,
    /// xorshift state for backoff jitter.
    jitter: u64,
    /// Reads an answer into a verdict: the protocol's rules (Azure track, OTLP...).
    judge: fn(&ExportResponse, usize, u64) -> Verdict,
}

impl Exporter {
    pub fn new(
        url: String,
        framing: Framing,
        limits: BatchLimits,
        judge: fn(&ExportResponse, usize, u64) -> Verdict,
    ) -> Exporter {
        Exporter {
            url,
            framing,
            batcher: Batcher::new(limits),
            in_flight: Vec::new(),
            // Memory is bounded by the buffer caps (items out count against them); this only
            // keeps a burst of flushes from opening too many connections at once.
            max_in_flight: 16,
            failures: 0,
            paused_until: None,
            redirects_in_a_row: 0,
            split_items: None,
            jitter: 0x9E37_79B9_7F4A_7C15,
            judge,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn push(&mut self, json: String) -> Result<(), DropReason> {
        self.batcher.push(json)
    }

    /// Items waiting (not out in a request).
    pub fn pending(&self) -> usize {
        self.batcher.len()
    }

    /// Whether any item is waiting or out.
    pub fn is_idle(&self) -> bool {
        self.batcher.is_empty() && self.in_flight.is_empty()
    }

    /// Sequence number that the next item will get: items below it are "queued so far".
    pub fn next_seq(&self) -> u64 {
        self.batcher.next_seq()
    }

    /// How many items numbered below `seq` are not finished (waiting or out).
    pub fn unfinished_before(&self, seq: u64) -> u64 {
        let out: usize = self.in_flight.iter().map(|r| r.items.iter().filter(|i| i.seq < seq).count()).sum();
        (out + self.batcher.count_before(seq)) as u64
    }

    pub fn batch_ready(&self) -> bool {
        self.batcher.batch_ready()
    }

    /// When the exporter may send again, if it is pausing.
    pub fn paused_until(&self) -> Option<u64> {
        self.paused_until
    }

    /// Builds the requests to send now: full batches, or with `all` everything waiting; none
    /// while paused, and no more than `max_in_flight` out at once.
    pub fn take_requests(
        &mut self,
        all: bool,
        now: u64,
        next_id: &mut u64,
        diag: &mut Diagnostics,
    ) -> Vec<ExportRequest> {
        let mut requests = Vec::new();
        if self.paused_until.is_some_and(|until| now < until) {
            return requests;
        }
        self.paused_until = None;
        while self.in_flight.len() < self.max_in_flight
            && (all && !self.batcher.is_empty() || self.batcher.batch_ready())
        {
            let Some(items) = self.batcher.take_batch(self.room(usize::MAX), self.split_items.unwrap_or(usize::MAX))
            else {
                break;
            };
            requests.push(self.start(items, false, next_id, diag));
        }
        requests
    }

    /// What waiting items fit in `budget` bytes of keepalive requests (the browser's limit is
    /// on all keepalive bodies in flight together), oldest first, for a page that is going away.
    /// The budget is reduced by what is sent; items that do not fit stay waiting.
    pub fn take_for_unload(
        &mut self,
        budget: &mut usize,
        next_id: &mut u64,
        diag: &mut Diagnostics,
    ) -> Vec<ExportRequest> {
        let mut requests = Vec::new();
        loop {
            let room = self.room((*budget).min(KEEPALIVE_MAX_BYTES));
            if room <= 2 {
                break;
            }
            let Some(items) = self.batcher.take_batch(room, self.split_items.unwrap_or(usize::MAX)) else { break };
            let size = self.framing.prefix.len()
                + self.framing.suffix.len()
                + items.iter().map(|i| i.json.len() + 1).sum::<usize>();
            if size > *budget {
                // A single item larger than what is left: it stays for later.
                self.batcher.requeue(items);
                break;
            }
            *budget -= size;
            requests.push(self.start(items, true, next_id, diag));
        }
        requests
    }

    /// Bytes of keepalive request bodies still in flight.
    pub fn keepalive_in_flight(&self) -> usize {
        self.in_flight.iter().map(|r| r.keepalive_bytes).sum()
    }

    /// Bytes left for the items' JSON array within `max_bytes` once the framing is added.
    fn room(&self, max_bytes: usize) -> usize {
        max_bytes.saturating_sub(self.framing.prefix.len() + self.framing.suffix.len()).saturating_add(2)
    }

    fn start(&mut self, items: Vec<Item>, keepalive: bool, next_id: &mut u64, diag: &mut Diagnostics) -> ExportRequest {
        let id = *next_id;
        *next_id += 1;
        diag.requests_sent += 1;
        diag.items_sent += items.len() as u64;
        self.batcher.hold(&items);
        let batch = Batch::new(items, &self.framing.prefix, &self.framing.suffix);
        let keepalive_bytes = if keepalive { batch.body.len() } else { 0 };
        self.in_flight.push(InFlight { id, items: batch.items, keepalive_bytes });
        ExportRequest {
            id,
            url: self.url.clone(),
            content_type: match self.framing.keepalive_content_type {
                Some(plain) if keepalive => plain,
                _ => self.framing.content_type,
            },
            headers: self.framing.headers.clone(),
            gzip: self.framing.gzip && !keepalive,
            body: batch.body,
            keepalive,
        }
    }

    /// Acts on the answer to request `id`; true when items came back to be sent again.
    pub fn on_response(&mut self, id: u64, response: &ExportResponse, now: u64, diag: &mut Diagnostics) -> bool {
        let Some(pos) = self.in_flight.iter().position(|r| r.id == id) else { return false };
        let waiting_before = self.batcher.len();
        let request = self.in_flight.swap_remove(pos);
        self.batcher.release(&request.items);
        let items = request.items;
        if let ExportResponse::Http { headers: ResponseHeaders { redirected_to: Some(url), .. }, .. } = response {
            if let Some(url) = resolve_location(&self.url, url) {
                self.url = url;
            }
        }
        match (self.judge)(response, items.len(), now) {
            Verdict::Answered { accepted, retry, rejected, message } => {
                diag.items_accepted += accepted;
                diag.items_rejected += rejected;
                diag.drop_items(DropReason::Rejected, rejected);
                if let Some(message) = message {
                    diag.error(message);
                }
                self.failures = 0;
                self.redirects_in_a_row = 0;
                self.split_items = None;
                let again: Vec<Item> = retry.iter().filter_map(|&i| items.get(i).cloned()).collect();
                if !again.is_empty() {
                    diag.items_retried += again.len() as u64;
                    self.batcher.requeue(again);
                }
            }
            Verdict::Retry { after_ms, reason } => {
                diag.requests_failed += 1;
                diag.items_retried += items.len() as u64;
                diag.error(format!("export failed, will retry: {reason}"));
                self.failures += 1;
                self.pause(now, after_ms);
                self.batcher.requeue(items);
            }
            Verdict::Redirect { location } => {
                match resolve_location(&self.url, &location) {
                    Some(url) => self.url = url,
                    None => diag.error(format!("ignored redirect to \"{location}\"")),
                }
                self.redirects_in_a_row += 1;
                if self.redirects_in_a_row > MAX_REDIRECTS_IN_A_ROW {
                    self.redirects_in_a_row = 0;
                    self.failures += 1;
                    self.pause(now, None);
                }
                diag.items_retried += items.len() as u64;
                self.batcher.requeue(items);
            }
            Verdict::Split if items.len() > 1 => {
                // The halves go out as separate requests: batches are cut to half this size
                // until one is accepted.
                diag.items_retried += items.len() as u64;
                self.split_items = Some(items.len() / 2);
                self.batcher.requeue(items);
            }
            Verdict::Split => diag.drop_items(DropReason::TooLarge, 1),
            Verdict::Drop { reason, message } => {
                diag.requests_failed += 1;
                diag.drop_items(reason, items.len() as u64);
                diag.error(message);
            }
        }
        self.batcher.len() > waiting_before
    }

    fn pause(&mut self, now: u64, after_ms: Option<u64>) {
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let ms = after_ms.unwrap_or_else(|| backoff_ms(self.failures, self.jitter));
        self.paused_until = Some(now + ms.min(3_600_000) * 1_000_000);
    }

    /// Ends a pause at once (the browser came back online).
    pub fn resume(&mut self) {
        self.paused_until = None;
        self.failures = 0;
    }

    /// Removes everything waiting, for persistence.
    pub fn drain(&mut self) -> Vec<String> {
        self.batcher.drain().into_iter().map(|i| i.json).collect()
    }
}
