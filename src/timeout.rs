//! The request time limit (`REQUEST_TIMEOUT`), armed only for requests that wait.
//!
//! Most reads are answered from the profile cache on their first poll; registering a timer for
//! each of them (and clearing it right after) cost more than the read itself. [`within`] polls
//! once, and only a request that is still pending then gets a timer, set to the same deadline.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

/// Runs `work` for at most `limit` from now: its output, or `None` when the time ran out.
pub async fn within<F: Future>(limit: Duration, work: F) -> Option<F::Output> {
    let deadline = Instant::now() + limit;
    let mut work = pin!(work);
    if let Poll::Ready(output) = futures_util::poll!(work.as_mut()) {
        return Some(output);
    }
    tokio::time::timeout_at(deadline, work).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ready_work_needs_no_timer_and_waiting_work_is_cut_at_the_deadline() {
        assert_eq!(within(Duration::ZERO, async { 7 }).await, Some(7));
        let slow = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            "late"
        };
        let started = Instant::now();
        assert_eq!(within(Duration::from_millis(100), slow).await, None);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        let in_time = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            "on time"
        };
        assert_eq!(
            within(Duration::from_millis(100), in_time).await,
            Some("on time")
        );
    }
}
