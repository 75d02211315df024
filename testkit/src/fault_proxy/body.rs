//! Response bodies with a fault part-way through, streamed chunk by chunk.

use std::io;
use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use super::FaultKind;

/// Extra bytes a [`FaultKind::WrongContentLength`] response announces.
const EXTRA_ANNOUNCED: u64 = 1024;

/// A fault applied to one response body of known length.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyFault {
    pub(super) kind: FaultKind,
    length: u64,
    stall: Duration,
}

impl BodyFault {
    pub(super) fn new(kind: FaultKind, length: u64, stall: Duration) -> Self {
        Self {
            kind,
            length,
            stall,
        }
    }

    /// Where the body is cut, stalled or ended: half-way, or never for a wrong length.
    fn cut(&self) -> u64 {
        match self.kind {
            FaultKind::WrongContentLength => u64::MAX,
            _ => self.length / 2,
        }
    }

    /// Changes the response headers the fault needs.
    pub(super) fn adjust_headers(&self, headers: &mut HeaderMap) {
        match self.kind {
            FaultKind::TruncatedBody => {
                headers.remove(header::CONTENT_LENGTH);
            }
            FaultKind::WrongContentLength => {
                let announced = self.length + EXTRA_ANNOUNCED;
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
            }
            _ => {}
        }
    }
}

type Inner = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

enum Phase {
    BeforeCut,
    AtCut,
    AfterStall,
    Done,
}

struct Cutter {
    inner: Inner,
    fault: BodyFault,
    sent: u64,
    pending: Option<Bytes>,
    phase: Phase,
}

/// `stream` as a response body with `fault` applied at its cut point.
pub(super) fn faulty_body<S>(stream: S, fault: BodyFault) -> Body
where
    S: Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    let cutter = Cutter {
        inner: Box::pin(stream),
        fault,
        sent: 0,
        pending: None,
        phase: Phase::BeforeCut,
    };
    Body::from_stream(futures::stream::unfold(cutter, next_chunk))
}

async fn next_chunk(mut cutter: Cutter) -> Option<(io::Result<Bytes>, Cutter)> {
    match cutter.phase {
        Phase::Done => None,
        Phase::AtCut => at_cut(cutter).await,
        Phase::AfterStall => {
            if let Some(rest) = cutter.pending.take() {
                return Some((Ok(rest), cutter));
            }
            let chunk = cutter.inner.next().await?;
            Some((chunk, cutter))
        }
        Phase::BeforeCut => {
            let chunk = match cutter.inner.next().await? {
                Ok(chunk) => chunk,
                Err(error) => {
                    cutter.phase = Phase::Done;
                    return Some((Err(error), cutter));
                }
            };
            let room = cutter.fault.cut() - cutter.sent;
            if (chunk.len() as u64) < room {
                cutter.sent += chunk.len() as u64;
                return Some((Ok(chunk), cutter));
            }
            let split = usize::try_from(room).unwrap_or(chunk.len());
            cutter.pending = Some(chunk.slice(split..));
            cutter.phase = Phase::AtCut;
            Some((Ok(chunk.slice(..split)), cutter))
        }
    }
}

/// What happens once the cut point is reached.
async fn at_cut(mut cutter: Cutter) -> Option<(io::Result<Bytes>, Cutter)> {
    match cutter.fault.kind {
        FaultKind::Stall => {
            tokio::time::sleep(cutter.fault.stall).await;
            cutter.phase = Phase::AfterStall;
            let rest = cutter.pending.take().unwrap_or_default();
            Some((Ok(rest), cutter))
        }
        FaultKind::ResetMidBody => {
            cutter.phase = Phase::Done;
            let reset = io::Error::new(io::ErrorKind::ConnectionReset, "injected reset");
            Some((Err(reset), cutter))
        }
        _ => None,
    }
}
