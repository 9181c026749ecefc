//! A bounded buffer of encoded items, cut into request bodies by item count and byte size.
//!
//! Each item carries a sequence number, so a flush can wait for exactly the items queued
//! before it, and items that come back for a retry keep their place (oldest first).

use crate::diagnostics::DropReason;
use std::collections::VecDeque;

/// Caps on what waits and on what one request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Items kept at most (waiting and in flight); a new item past this is dropped (`QueueFull`).
    pub max_queue_items: usize,
    /// Bytes kept at most (waiting and in flight); a new item past this is dropped (`QueueFull`).
    pub max_queue_bytes: usize,
    /// Items in one request at most.
    pub max_batch_items: usize,
    /// Bytes in one request body at most.
    pub max_batch_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_queue_items: 2048, max_queue_bytes: 4 << 20, max_batch_items: 512, max_batch_bytes: 1 << 20 }
    }
}

/// One encoded item (a JSON value) and its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub seq: u64,
    pub json: String,
}

/// One request body: the items joined by commas between a protocol's prefix and suffix
/// (`[` and `]` for Application Insights, an OTLP `resourceSpans` wrapper for OTLP).
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub items: Vec<Item>,
    pub body: String,
}

impl Batch {
    pub fn new(items: Vec<Item>, prefix: &str, suffix: &str) -> Batch {
        let size = prefix.len() + suffix.len() + items.iter().map(|i| i.json.len() + 1).sum::<usize>();
        let mut body = String::with_capacity(size);
        body.push_str(prefix);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&item.json);
        }
        body.push_str(suffix);
        Batch { items, body }
    }
}

/// The items waiting to be sent, oldest first. The caps also count the items out in requests
/// (`hold`/`release`), so memory stays bounded while the backend is slow or down.
#[derive(Debug)]
pub struct Batcher {
    limits: BatchLimits,
    queue: VecDeque<Item>,
    queued_bytes: usize,
    /// Items and bytes out in requests, still counted against the caps.
    held_items: usize,
    held_bytes: usize,
    next_seq: u64,
}

impl Batcher {
    pub fn new(limits: BatchLimits) -> Batcher {
        Batcher { limits, queue: VecDeque::new(), queued_bytes: 0, held_items: 0, held_bytes: 0, next_seq: 1 }
    }

    /// Queues a new item. When the caps are reached the new item is the one dropped: what was
    /// recorded first is kept (the documented overflow policy).
    pub fn push(&mut self, json: String) -> Result<(), DropReason> {
        if json.len() + 2 > self.limits.max_batch_bytes {
            return Err(DropReason::TooLarge);
        }
        if self.queue.len() + self.held_items >= self.limits.max_queue_items
            || self.queued_bytes + self.held_bytes + json.len() > self.limits.max_queue_bytes
        {
            return Err(DropReason::QueueFull);
        }
        self.queued_bytes += json.len();
        self.queue.push_back(Item { seq: self.next_seq, json });
        self.next_seq += 1;
        Ok(())
    }

    /// The sequence number the next pushed item will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Puts items that came back (for a retry) in front, in order, keeping their numbers.
    pub fn requeue(&mut self, mut items: Vec<Item>) {
        crate::text::insertion_sort_by(&mut items, |a, b| a.seq > b.seq);
        for item in items.into_iter().rev() {
            self.queued_bytes += item.json.len();
            self.queue.push_front(item);
        }
    }

    /// Counts items out in a request against the caps until `release`.
    pub fn hold(&mut self, items: &[Item]) {
        self.held_items += items.len();
        self.held_bytes += items.iter().map(|i| i.json.len()).sum::<usize>();
    }
    pub fn release(&mut self, items: &[Item]) {
        self.held_items = self.held_items.saturating_sub(items.len());
        self.held_bytes = self.held_bytes.saturating_sub(items.iter().map(|i| i.json.len()).sum());
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// How many waiting items are numbered below `seq`.
    pub fn count_before(&self, seq: u64) -> usize {
        self.queue.iter().filter(|i| i.seq < seq).count()
    }

    /// Whether a full batch (by count or bytes) is waiting.
    pub fn batch_ready(&self) -> bool {
        self.queue.len() >= self.limits.max_batch_items
            || self.queued_bytes + self.queue.len() + 1 >= self.limits.max_batch_bytes
    }

    /// Takes the oldest items whose JSON array (`[a,b]`) fits in `max_bytes`, at most
    /// `max_items` of them (and within the configured caps).
    pub fn take_batch(&mut self, max_bytes: usize, max_items: usize) -> Option<Vec<Item>> {
        let max_bytes = max_bytes.min(self.limits.max_batch_bytes);
        let max_items = max_items.clamp(1, self.limits.max_batch_items);
        let mut items = Vec::new();
        let mut size = 1;
        while let Some(next) = self.queue.front() {
            let needed = next.json.len() + 1;
            if items.len() == max_items || (!items.is_empty() && size + needed > max_bytes) {
                break;
            }
            let Some(item) = self.queue.pop_front() else { break };
            self.queued_bytes -= item.json.len();
            size += needed;
            items.push(item);
        }
        (!items.is_empty()).then_some(items)
    }

    /// Removes and returns everything waiting (for persistence at unload).
    pub fn drain(&mut self) -> Vec<Item> {
        self.queued_bytes = 0;
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(queue: usize, items: usize, bytes: usize) -> BatchLimits {
        BatchLimits { max_queue_items: queue, max_queue_bytes: 1 << 20, max_batch_items: items, max_batch_bytes: bytes }
    }

    fn take(b: &mut Batcher) -> Option<String> {
        b.take_batch(usize::MAX, usize::MAX).map(|items| Batch::new(items, "[", "]").body)
    }

    #[test]
    fn batches_by_item_count() {
        let mut b = Batcher::new(limits(10, 2, 1000));
        for i in 0..5 {
            b.push(format!("{i}")).unwrap();
        }
        assert!(b.batch_ready());
        assert_eq!(take(&mut b).as_deref(), Some("[0,1]"));
        assert_eq!(take(&mut b).as_deref(), Some("[2,3]"));
        assert!(!b.batch_ready());
        assert_eq!(take(&mut b).as_deref(), Some("[4]"));
        assert_eq!(take(&mut b), None);
    }

    #[test]
    fn batches_by_bytes_and_never_exceeds_the_byte_cap() {
        let mut b = Batcher::new(limits(100, 100, 12));
        for _ in 0..6 {
            b.push("\"abc\"".into()).unwrap();
        }
        assert!(b.batch_ready());
        let mut total = 0;
        while let Some(items) = b.take_batch(usize::MAX, usize::MAX) {
            let batch = Batch::new(items, "[", "]");
            assert!(batch.body.len() <= 12, "{}", batch.body);
            assert_eq!(batch.body, "[\"abc\"]");
            total += batch.items.len();
        }
        assert_eq!(total, 6);
    }

    #[test]
    fn a_smaller_byte_cap_can_be_asked_for() {
        let mut b = Batcher::new(limits(100, 100, 1000));
        for _ in 0..4 {
            b.push("\"abcdefgh\"".into()).unwrap();
        }
        assert_eq!(b.take_batch(30, usize::MAX).unwrap().len(), 2);
        assert_eq!(b.take_batch(usize::MAX, 1).unwrap().len(), 1);
    }

    #[test]
    fn a_full_queue_drops_the_newest_item_and_held_items_count() {
        let mut b = Batcher::new(limits(3, 2, 1000));
        b.push("1".into()).unwrap();
        b.push("2".into()).unwrap();
        let batch = b.take_batch(usize::MAX, usize::MAX).unwrap();
        b.hold(&batch);
        b.push("3".into()).unwrap();
        assert_eq!(b.push("4".into()), Err(DropReason::QueueFull), "two are held, one waits: full");
        b.release(&batch);
        b.push("4".into()).unwrap();
    }

    #[test]
    fn the_byte_cap_bounds_memory() {
        let mut b = Batcher::new(BatchLimits {
            max_queue_items: 100,
            max_queue_bytes: 10,
            max_batch_items: 10,
            max_batch_bytes: 100,
        });
        b.push("12345".into()).unwrap();
        b.push("12345".into()).unwrap();
        assert_eq!(b.push("1".into()), Err(DropReason::QueueFull));
    }

    #[test]
    fn requeued_items_go_first_in_order_and_keep_their_numbers() {
        let mut b = Batcher::new(limits(10, 2, 1000));
        for i in 0..5 {
            b.push(format!("{i}")).unwrap();
        }
        let first = b.take_batch(usize::MAX, usize::MAX).unwrap();
        let second = b.take_batch(usize::MAX, usize::MAX).unwrap();
        b.requeue(second);
        b.requeue(first);
        assert_eq!(b.count_before(3), 2);
        assert_eq!(take(&mut b).as_deref(), Some("[0,1]"));
        assert_eq!(take(&mut b).as_deref(), Some("[2,3]"));
        assert_eq!(b.next_seq(), 6);
    }

    #[test]
    fn an_item_larger_than_a_request_is_refused() {
        let mut b = Batcher::new(limits(10, 10, 8));
        assert_eq!(b.push("1234567".into()), Err(DropReason::TooLarge));
        assert_eq!(b.push("123456".into()), Ok(()));
        assert_eq!(take(&mut b).as_deref(), Some("[123456]"));
    }
}
