//! A byte rate shared by every response body of a proxy, to make transfers take long enough
//! for time-based effects (expiring tokens) to happen during them.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use tokio::time::Instant;

/// Hands out sending slots so that all bodies together stay under a byte rate.
#[derive(Debug)]
pub(super) struct Pacer {
    bytes_per_second: u64,
    /// When the last reserved chunk has finished going out at the rate.
    busy_until: Mutex<Instant>,
}

impl Pacer {
    pub(super) fn new(bytes_per_second: u64) -> Self {
        Self {
            bytes_per_second: bytes_per_second.max(1),
            busy_until: Mutex::new(Instant::now()),
        }
    }

    /// Reserves the time `length` bytes take at the rate, after everything reserved before;
    /// returns when that time is over, which is when the chunk may be sent.
    fn reserve(&self, length: usize) -> Instant {
        let duration = Duration::from_secs_f64(length as f64 / self.bytes_per_second as f64);
        let mut busy_until = self.busy_until.lock().expect("pacer lock");
        let start = (*busy_until).max(Instant::now());
        *busy_until = start + duration;
        *busy_until
    }
}

/// `stream` with each chunk held back until the shared rate allows it.
pub(super) fn paced<S>(
    stream: S,
    pacer: Arc<Pacer>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    stream.then(move |chunk| {
        let pacer = Arc::clone(&pacer);
        async move {
            if let Ok(bytes) = &chunk {
                tokio::time::sleep_until(pacer.reserve(bytes.len())).await;
            }
            chunk
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn reservations_queue_behind_each_other_at_the_rate() {
        let pacer = Pacer::new(1000);
        let start = Instant::now();
        assert_eq!(pacer.reserve(500), start + Duration::from_millis(500));
        assert_eq!(pacer.reserve(1000), start + Duration::from_millis(1500));
        tokio::time::advance(Duration::from_secs(5)).await;
        // An idle pacer does not bank the time it was idle.
        let now = Instant::now();
        assert_eq!(pacer.reserve(250), now + Duration::from_millis(250));
    }
}
