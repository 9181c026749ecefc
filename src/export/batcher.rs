//! A bounded buffer of encoded items, cut into request bodies by item count and byte size.

use crate::diagnostics::DropReason;
use std::collections::VecDeque;

/// Caps on what waits and on what one request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Items kept waiting at most; a new item past this is dropped (`QueueFull`).
    pub max_queue_items: usize,
    /// Items in one request at most.
    pub max_batch_items: usize,
    /// Bytes in one request body at most.
    pub max_batch_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits { max_queue_items: 2048, max_batch_items: 512, max_batch_bytes: 1 << 20 }
    }
}

/// One request body: a JSON array of encoded items.
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub body: String,
    pub items: usize,
}

/// Encoded items (each a JSON value) waiting to be sent.
#[derive(Debug)]
pub struct Batcher {
    limits: BatchLimits,
    queue: VecDeque<String>,
    queued_bytes: usize,
}

impl Batcher {
    pub fn new(limits: BatchLimits) -> Batcher {
        Batcher { limits, queue: VecDeque::new(), queued_bytes: 0 }
    }

    /// Queues an item; the newest item is the one dropped when the queue is full.
    pub fn push(&mut self, item: String) -> Result<(), DropReason> {
        if item.len() + 2 > self.limits.max_batch_bytes {
            return Err(DropReason::TooLarge);
        }
        if self.queue.len() >= self.limits.max_queue_items {
            return Err(DropReason::QueueFull);
        }
        self.queued_bytes += item.len() + 1;
        self.queue.push_back(item);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether a full batch (by count or bytes) is waiting.
    pub fn batch_ready(&self) -> bool {
        self.queue.len() >= self.limits.max_batch_items || self.queued_bytes + 1 >= self.limits.max_batch_bytes
    }

    /// Takes the oldest items that fit in one request, as a JSON array body.
    pub fn take_batch(&mut self) -> Option<Batch> {
        let first = self.queue.front()?;
        let mut body =
            String::with_capacity((self.queued_bytes + 1).min(self.limits.max_batch_bytes).max(first.len() + 2));
        body.push('[');
        let mut items = 0;
        while let Some(next) = self.queue.front() {
            let needed = next.len() + usize::from(items > 0) + 1;
            if items == self.limits.max_batch_items || (items > 0 && body.len() + needed > self.limits.max_batch_bytes)
            {
                break;
            }
            let Some(item) = self.queue.pop_front() else { break };
            self.queued_bytes -= item.len() + 1;
            if items > 0 {
                body.push(',');
            }
            body.push_str(&item);
            items += 1;
        }
        body.push(']');
        Some(Batch { body, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(queue: usize, items: usize, bytes: usize) -> BatchLimits {
        BatchLimits { max_queue_items: queue, max_batch_items: items, max_batch_bytes: bytes }
    }

    #[test]
    fn batches_by_item_count() {
        let mut b = Batcher::new(limits(10, 2, 1000));
        for i in 0..5 {
            b.push(format!("{i}")).unwrap();
        }
        assert!(b.batch_ready());
        assert_eq!(b.take_batch(), Some(Batch { body: "[0,1]".into(), items: 2 }));
        assert_eq!(b.take_batch(), Some(Batch { body: "[2,3]".into(), items: 2 }));
        assert!(!b.batch_ready());
        assert_eq!(b.take_batch(), Some(Batch { body: "[4]".into(), items: 1 }));
        assert_eq!(b.take_batch(), None);
    }

    #[test]
    fn batches_by_bytes_and_never_exceeds_the_byte_cap() {
        let mut b = Batcher::new(limits(100, 100, 12));
        for _ in 0..6 {
            b.push("\"abc\"".into()).unwrap();
        }
        assert!(b.batch_ready());
        let mut total = 0;
        while let Some(batch) = b.take_batch() {
            assert!(batch.body.len() <= 12, "{}", batch.body);
            assert_eq!(batch.body, "[\"abc\"]");
            total += batch.items;
        }
        assert_eq!(total, 6);
    }

    #[test]
    fn a_full_queue_drops_the_newest_item() {
        let mut b = Batcher::new(limits(2, 10, 1000));
        b.push("1".into()).unwrap();
        b.push("2".into()).unwrap();
        assert_eq!(b.push("3".into()), Err(DropReason::QueueFull));
        assert_eq!(b.take_batch().unwrap().body, "[1,2]");
    }

    #[test]
    fn an_item_larger_than_a_request_is_refused() {
        let mut b = Batcher::new(limits(10, 10, 8));
        assert_eq!(b.push("1234567".into()), Err(DropReason::TooLarge));
        assert_eq!(b.push("123456".into()), Ok(()));
        assert_eq!(b.take_batch().unwrap().body, "[123456]");
    }
}
