//! Request bodies as every front end reads them: a stream that ends with an error when no byte
//! arrives for the configured idle time, so a stalled client gives back its staged bytes, its
//! file handle and its buffer instead of holding them for ever. A long upload that keeps
//! sending is never cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::error::PayloadError;
use bytes::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::error::{ErrorCode, UploadError};

/// A request body with an idle timeout. See the module docs.
pub(crate) struct Body<S> {
    inner: S,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    timed_out: Arc<AtomicBool>,
    done: bool,
}

/// Tells, after a body failed, whether it failed by going idle.
#[derive(Clone)]
pub(crate) struct IdleFlag(Arc<AtomicBool>);

impl IdleFlag {
    /// `err` as the client should hear it: `TIMEOUT` (408) when the body went idle.
    pub fn explain(&self, err: UploadError) -> UploadError {
        if self.0.load(Ordering::Acquire) {
            idle_error()
        } else {
            err
        }
    }

    pub fn timed_out(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

pub(crate) fn idle_error() -> UploadError {
    UploadError::new(
        ErrorCode::Timeout,
        "no byte of the body arrived for too long; the upload was abandoned",
    )
}

impl<S> Body<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    /// Wraps `inner`; `idle` is `Limits::body_idle_timeout`.
    pub fn new(inner: S, idle: Duration) -> (Self, IdleFlag) {
        let flag = Arc::new(AtomicBool::new(false));
        let body = Body {
            inner,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            timed_out: flag.clone(),
            done: false,
        };
        (body, IdleFlag(flag))
    }
}

impl<S> Stream for Body<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(item) => {
                let idle = self.idle;
                self.timer.as_mut().reset(Instant::now() + idle);
                if item.is_none() {
                    self.done = true;
                }
                Poll::Ready(item)
            }
            Poll::Pending => match self.timer.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    self.timed_out.store(true, Ordering::Release);
                    Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body went idle",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn a_silent_body_ends_with_a_timeout_and_a_live_one_does_not() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, PayloadError>>();
        let rx = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let (mut body, flag) = Body::new(Box::pin(rx), Duration::from_millis(300));
        // Live: a byte every 100 ms for 1 s, three times the idle time, is never cut.
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(Ok(Bytes::from_static(b"x"))).unwrap();
            assert!(body.next().await.unwrap().is_ok());
        }
        assert!(!flag.timed_out());
        // Silent: 300 ms without a byte ends it.
        let started = std::time::Instant::now();
        let err = body.next().await.unwrap().unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(matches!(err, PayloadError::Io(ref e) if e.kind() == io::ErrorKind::TimedOut));
        assert!(flag.timed_out());
        assert!(body.next().await.is_none());
        assert_eq!(
            flag.explain(UploadError::bad_request("x")).code(),
            ErrorCode::Timeout
        );
    }
}
