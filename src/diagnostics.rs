//! Counters that account for every item: started, queued, sent, accepted, and dropped by reason.
//!
//! Nothing is lost silently: each path that gives up on an item adds to [`Diagnostics::dropped`].

/// Why an item was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The export buffer was at its item or byte cap.
    QueueFull,
    /// The ingestion service answered with a per-item error that is not worth retrying.
    Rejected,
    /// The request failed before any answer (network error, CORS, aborted).
    Network,
    /// The whole request was answered with a status that is not retried (400, 401, 403, 404, ...).
    HttpStatus,
    /// A single item was larger than a whole request may be.
    TooLarge,
    /// The item arrived after `shutdown()`.
    Shutdown,
    /// Console capture was over its rate limit.
    RateLimited,
    /// The service answered that the quota is spent (402, 439).
    Quota,
    /// Kept offline longer than the persistence age limit.
    Expired,
    /// Still queued when the page went away, past the keepalive budget, without persistence.
    Unload,
}

impl DropReason {
    pub const ALL: [DropReason; 10] = [
        DropReason::QueueFull,
        DropReason::Rejected,
        DropReason::Network,
        DropReason::HttpStatus,
        DropReason::TooLarge,
        DropReason::Shutdown,
        DropReason::RateLimited,
        DropReason::Quota,
        DropReason::Expired,
        DropReason::Unload,
    ];

    /// The name used in the JS diagnostics object.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queueFull",
            DropReason::Rejected => "rejected",
            DropReason::Network => "network",
            DropReason::HttpStatus => "httpStatus",
            DropReason::TooLarge => "tooLarge",
            DropReason::Shutdown => "shutdown",
            DropReason::RateLimited => "rateLimited",
            DropReason::Quota => "quota",
            DropReason::Expired => "expired",
            DropReason::Unload => "unload",
        }
    }
}

/// The client's counters. All are totals since the client was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    pub spans_started: u64,
    pub spans_ended: u64,
    pub spans_sampled_out: u64,
    pub items_queued: u64,
    pub items_sent: u64,
    pub items_accepted: u64,
    pub items_rejected: u64,
    pub requests_sent: u64,
    pub requests_failed: u64,
    /// Items sent again after a retriable failure (counted once per resend).
    pub items_retried: u64,
    /// Items written to browser storage at unload, and read back on a later load.
    pub items_persisted: u64,
    pub items_restored: u64,
    pub attributes_dropped: u64,
    pub events_dropped: u64,
    pub links_dropped: u64,
    pub values_truncated: u64,
    pub invalid_inputs: u64,
    pub logs_recorded: u64,
    pub exceptions_recorded: u64,
    pub measurements_recorded: u64,
    /// Measurements refused: NaN or infinite, a fraction for an int measure, a negative value
    /// for a Sum or Distribution, an unknown measure or tag map.
    pub measurements_invalid: u64,
    /// Measurements not recorded in a view because it had reached its series cap.
    pub series_overflow: u64,
    dropped: [u64; DropReason::ALL.len()],
    pub last_error: Option<String>,
}

impl Diagnostics {
    pub fn drop_items(&mut self, reason: DropReason, count: u64) {
        self.dropped[reason as usize] += count;
    }
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason as usize]
    }
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
    /// Records an internal error for `lastError`; never thrown to the host.
    pub fn error(&mut self, message: String) {
        self.last_error = Some(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_counted_by_reason() {
        let mut d = Diagnostics::default();
        d.drop_items(DropReason::QueueFull, 2);
        d.drop_items(DropReason::Network, 3);
        d.drop_items(DropReason::QueueFull, 1);
        assert_eq!(d.dropped(DropReason::QueueFull), 3);
        assert_eq!(d.dropped(DropReason::Network), 3);
        assert_eq!(d.dropped(DropReason::Shutdown), 0);
        assert_eq!(d.dropped_total(), 6);
    }

    #[test]
    fn reason_names_are_distinct() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
