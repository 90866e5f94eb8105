//! Deadlines on connections, where actix has none: a response the client does not take
//! within `WARDEN_SEND_TIMEOUT` closes the connection (`SendDeadline`, around the socket),
//! and a request body must have arrived `WARDEN_BODY_TIMEOUT` after its head or the
//! request gets 408 and the connection closes (`body_deadline`, around the payload). A
//! request whose body was not read to the end, for any reason, closes its connection
//! after the answer instead of reading the rest: an endless chunked body is never drained.
//!
//! What actix bounds already: the request head (`client_request_timeout`, 5 s), idle
//! keep-alive (5 s), pipelining (16 requests a connection) and lingering after a close
//! (`client_disconnect_timeout`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{ConnectionType, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use bytes::Bytes;
use futures_util::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::state::AppState;

/// A socket whose writes may not stall for longer than `limit`: the clock starts when a
/// write finds the socket full and stops only when everything handed to it has gone out,
/// so a client that reads a trickle cannot hold a response (and its memory) for ever.
pub struct SendDeadline<T> {
    io: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> SendDeadline<T> {
    pub fn new(io: T, limit: Duration) -> SendDeadline<T> {
        SendDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    /// On a blocked write: starts the clock if it is not running, and fails once it ran out.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read the response in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SendDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SendDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n == buf.len() {
                    this.stalled = None;
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => this.poll_stalled(cx),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// What became of a request body.
#[derive(Default)]
struct BodyWatch {
    finished: Cell<bool>,
    timed_out: Cell<bool>,
}

/// The request's own payload, shared between the stream the handler reads and this
/// middleware: while the middleware holds it, actix sees the body as unread rather than
/// dropped, and closes the connection instead of draining it.
type Shared = Rc<RefCell<Option<Payload>>>;

/// Marks a response whose request body was left unread; keeps the payload alive while
/// actix decides, once the head is written, whether to close (see `Shared`).
struct UnreadBody(#[allow(dead_code)] Shared);

/// A response body that keeps the unread request payload alive until the body has been
/// sent: actix decides again at the end of the body, and a payload dropped by then would be
/// drained (chunked) instead of the connection being closed.
struct HoldPayload {
    body: BoxBody,
    _payload: Shared,
}

impl MessageBody for HoldPayload {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

struct DeadlinedPayload {
    inner: Shared,
    deadline: Pin<Box<Sleep>>,
    watch: Rc<BodyWatch>,
}

impl Stream for DeadlinedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.watch.finished.get() || this.watch.timed_out.get() {
            return Poll::Ready(None);
        }
        let mut inner = this.inner.borrow_mut();
        let Some(payload) = inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(payload).poll_next(cx) {
            Poll::Ready(None) => {
                this.watch.finished.set(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(chunk)) => Poll::Ready(Some(chunk)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.watch.timed_out.set(true);
                    Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// Whether the request announces a body (chunked, or a `Content-Length` other than 0).
fn has_body(req: &ServiceRequest) -> bool {
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    req.headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !has_body(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map_or(Duration::from_secs(10), |s| s.settings.limits.body_timeout);
    let shared: Shared = Rc::new(RefCell::new(Some(req.take_payload())));
    let watch = Rc::new(BodyWatch::default());
    let stream = DeadlinedPayload {
        inner: shared.clone(),
        deadline: Box::pin(tokio::time::sleep(limit)),
        watch: watch.clone(),
    };
    req.set_payload(Payload::from(
        Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let mut res = next.call(req).await?.map_into_boxed_body();
    if watch.timed_out.get() {
        crate::limits::BODY_TIMEOUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!("request body timed out; closing the connection");
        let timeout = HttpResponse::build(StatusCode::REQUEST_TIMEOUT)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "invalid_request",
                "error_description": "the request body did not arrive in time",
            }));
        res = res.into_response(timeout);
    }
    if !watch.finished.get() {
        let response = res.response_mut();
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
        response.extensions_mut().insert(UnreadBody(shared.clone()));
        res = res.map_body(|_, body| {
            BoxBody::new(HoldPayload {
                body,
                _payload: shared,
            })
        });
    }
    Ok(res)
}
