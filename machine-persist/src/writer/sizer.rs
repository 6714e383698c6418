//! How large the next batch is: large enough to amortise a commit, small enough that committing
//! one batch and preparing the next overlap.
//!
//! Actors that each await their commit move in lockstep: if one batch holds all of them, the
//! store works while the callers wait, then the callers work while the store waits. Splitting
//! the actors into one group more than there are batches in flight lets the callers of one
//! group prepare their next requests while another group commits, so the two sides of the
//! system (the store's thread or server, and the actors' threads) work at the same time.
//!
//! The sizer estimates the population of actors in that loop (requests waiting, requests
//! committing, and replies sent whose next request has not arrived yet) and gives each batch an
//! equal share of it. Below [`SPLIT_MIN`] requests a batch is not split: there, the commit's fixed
//! cost (a flush to disk) outweighs the overlap.

/// The smallest share a batch is cut to.
pub(super) const SPLIT_MIN: usize = 256;

/// Sizes the batches of one writer.
#[derive(Debug)]
pub(super) struct Sizer {
    max_batch: usize,
    /// Batches in flight at most, plus the group being prepared.
    groups: usize,
    /// Replies sent whose actors have not sent their next request yet (an estimate: every
    /// received request counts against it).
    preparing: usize,
}

impl Sizer {
    pub(super) fn new(max_batch: usize, max_in_flight: usize) -> Self {
        Self {
            max_batch,
            groups: max_in_flight + 1,
            preparing: 0,
        }
    }

    /// The size of the next batch, with `waiting` requests waiting and `committing` in flight.
    pub(super) fn next(&self, waiting: usize, committing: usize) -> usize {
        let population = waiting + committing + self.preparing;
        population
            .div_ceil(self.groups)
            .max(SPLIT_MIN)
            .min(self.max_batch)
    }

    /// `requests` arrived.
    pub(super) fn received(&mut self, requests: usize) {
        self.preparing = self.preparing.saturating_sub(requests);
    }

    /// A batch of `requests` was answered.
    pub(super) fn answered(&mut self, requests: usize) {
        self.preparing += requests;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockstep_actors_are_split_in_one_group_more_than_batches_in_flight() {
        // One batch in flight (SQLite): 1,000 actors waiting at the start go in two halves.
        let mut sizer = Sizer::new(2_048, 1);
        assert_eq!(sizer.next(1_000, 0), 500);
        // The first half commits and is answered; the second half is waiting: all of it goes.
        sizer.answered(500);
        assert_eq!(sizer.next(500, 0), 500);
        // The first half's next requests arrive while the second half commits.
        sizer.received(500);
        assert_eq!(sizer.next(500, 500), 500);
    }

    #[test]
    fn few_actors_are_not_split_and_batches_stay_within_bounds() {
        let sizer = Sizer::new(2_048, 1);
        assert_eq!(sizer.next(100, 0), SPLIT_MIN);
        assert_eq!(sizer.next(100_000, 0), 2_048);
        let pipelined = Sizer::new(2_048, 2);
        assert_eq!(pipelined.next(1_200, 0), 400);
    }
}
