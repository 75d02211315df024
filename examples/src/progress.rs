//! Progress bars on a terminal, plain log lines elsewhere.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of a long job counted in bytes.
///
/// On a terminal it draws an indicatif bar; when stderr is not a terminal (CI logs, a
/// Kubernetes Job) it prints a plain line at most every ten seconds instead.
#[derive(Debug)]
pub struct ByteProgress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    done: u64,
    last_line: Instant,
}

impl ByteProgress {
    /// Starts progress for `total` bytes of work described by `label`.
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        let label = label.into();
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .map_or_else(
                |_| ProgressStyle::default_bar(),
                |s| s.progress_chars("=> "),
            );
            bar.set_style(style);
            bar.set_message(label.clone());
            bar
        });
        Self {
            bar,
            label,
            total,
            done: 0,
            last_line: Instant::now(),
        }
    }

    /// Grows the total when more work is discovered.
    pub fn add_total(&mut self, bytes: u64) {
        self.total += bytes;
        if let Some(bar) = &self.bar {
            bar.set_length(self.total);
        }
    }

    /// Records `bytes` more done.
    pub fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        match &self.bar {
            Some(bar) => bar.set_position(self.done),
            None if self.last_line.elapsed() >= Duration::from_secs(10) => {
                self.last_line = Instant::now();
                eprintln!("{}: {} of {} bytes", self.label, self.done, self.total);
            }
            None => {}
        }
    }

    /// Ends the bar (or prints the last plain line).
    pub fn finish(self) {
        match self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!(
                "{}: {} of {} bytes, done",
                self.label, self.done, self.total
            ),
        }
    }
}
