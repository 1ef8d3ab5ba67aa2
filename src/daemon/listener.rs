//! Serving the HTTP listener's connections with bounds a hostile or careless client cannot get
//! around, which `axum::serve` does not offer:
//!
//! - a request head must arrive within [`HEADER_TIMEOUT`] of the connection waiting for one — on
//!   a new connection and between keep-alive requests alike, so this is the idle timeout too;
//! - a request (reading its body, answering) must finish within [`REQUEST_TIMEOUT`], or it is
//!   answered 408 and the connection closed;
//! - at most [`Limits::max_connections`] connections are open at once, a quarter of the
//!   open-files limit (at most [`MAX_CONNECTIONS`]), so the fetcher and the store always keep
//!   three quarters. A connection arriving at the cap closes the oldest connection that has no
//!   request in progress (idle, or still trickling its head), has been open for a second and has
//!   no request waiting unread, and takes its place; until there is one, newcomers wait in the
//!   kernel's accept queue and are taken in turn. Either way a `/healthz` probe
//!   is answered promptly however many idle or slow connections are held open.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// How long a connection may take to send a complete request head, counted from when it starts
/// waiting for one (its opening, or the end of its previous response). Clients of this listener
/// send their request at once; Apache's keep-alive default is the same.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one request may take from its head to its answer, reading its body included. WebSub
/// hubs push bodies of at most `fetch.max_feed_size` (a few MiB); everything else is answered
/// from memory.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection cap whatever the open-files limit: the listener serves probes, a scraper and
/// WebSub hubs, and a thousand connections are far more than they need.
pub const MAX_CONNECTIONS: usize = 1024;

/// Requests heads (request line and headers) are at most this large; hyper's default is 400 KiB,
/// which times the connection cap is more memory than a monitoring endpoint should hold.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long a connection closed to make room (or at shutdown) may take to finish what it is
/// writing before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long a new connection is safe from being closed to make room: time for a client to send
/// the request it connected for. Without it, a flood of reconnecting silent connections closes
/// every newcomer (a probe among them) before its request arrives; with it, newcomers beyond the
/// cap wait in the kernel's accept queue and are taken in turn.
const NEW_CONNECTION_GRACE: Duration = Duration::from_secs(1);

/// How often the accept loop, at the cap with no connection it may close, looks again.
const CAP_RECHECK: Duration = Duration::from_millis(100);

/// At most one warning about the cap per this period, however long it is hit.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(60);

/// The listener's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub new_connection_grace: Duration,
}

impl Limits {
    /// The bounds for a process allowed `open_files` descriptors (`None`: unlimited): a quarter
    /// of them for connections, at least one and at most [`MAX_CONNECTIONS`].
    pub fn for_open_files(open_files: Option<u64>) -> Limits {
        let quarter = open_files.map_or(MAX_CONNECTIONS, |limit| {
            usize::try_from(limit / 4).unwrap_or(MAX_CONNECTIONS)
        });
        Limits {
            header_timeout: HEADER_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_connections: quarter.clamp(1, MAX_CONNECTIONS),
            new_connection_grace: NEW_CONNECTION_GRACE,
        }
    }
}

/// One open connection, as the accept loop sees it.
struct Slot {
    /// Requests being answered; a connection with none may be closed to make room.
    in_flight: AtomicUsize,
    /// Cancelled to close the connection (gracefully, then after [`CLOSE_GRACE`] by dropping it).
    close: CancellationToken,
    /// When it was accepted (see [`NEW_CONNECTION_GRACE`]).
    opened: std::time::Instant,
    /// The connection's socket, to see whether a request has arrived that the connection's task
    /// has not read yet (see [`Open::close_oldest_idle`]).
    socket: std::os::fd::RawFd,
}

impl Slot {
    /// Whether bytes wait unread in the socket: a client that sent its request at once (a probe,
    /// a scraper, a hub) whose task has not run yet. Under a flood of connections that send
    /// nothing, these must not be the ones closed to make room, or a reconnecting flood could
    /// close every probe before it is read.
    fn has_unread_bytes(&self) -> bool {
        // SAFETY: `recv` with MSG_PEEK | MSG_DONTWAIT neither consumes nor blocks. The descriptor
        // is the connection's own while its slot is registered; in the short moment after the
        // task dropped the stream and before it unregistered, the number may name another
        // descriptor of this process, where a peek consumes nothing and a non-socket answers
        // ENOTSOCK (read as "nothing unread") — so a stale number can only change which idle
        // connection is closed, never a byte of another stream.
        let socket = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.socket) };
        let mut byte = [0u8; 1];
        matches!(
            rustix::net::recv(
                socket,
                &mut byte,
                rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT
            ),
            Ok((count, _)) if count > 0
        )
    }
}

/// The open connections by age (ids only grow).
#[derive(Default)]
struct Open {
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
}

impl Open {
    /// Asks the oldest connection with no request in progress, open for at least `grace`, to
    /// close, preferring those with no request waiting unread in their socket; false when there
    /// is none.
    fn close_oldest_idle(&self, grace: Duration) -> bool {
        let Ok(slots) = self.slots.lock() else {
            return false;
        };
        let idle = || {
            slots.values().filter(|slot| {
                !slot.close.is_cancelled()
                    && slot.in_flight.load(Ordering::Acquire) == 0
                    && slot.opened.elapsed() >= grace
            })
        };
        let oldest = idle()
            .find(|slot| !slot.has_unread_bytes())
            .or_else(|| idle().next());
        match oldest {
            Some(slot) => {
                slot.close.cancel();
                true
            }
            None => false,
        }
    }

    fn insert(&self, id: u64, slot: Arc<Slot>) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(id, slot);
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.remove(&id);
        }
    }
}

/// Removes a connection from [`Open`] when its task ends, however it ends.
struct Registration {
    open: Arc<Open>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.open.remove(self.id);
    }
}

/// Counts a request as in progress on its connection while it lives.
struct InFlight(Arc<Slot>);

impl InFlight {
    fn start(slot: &Arc<Slot>) -> InFlight {
        slot.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(slot))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Accepts and serves connections until `shutdown`, then gives open connections [`CLOSE_GRACE`]
/// to finish and returns once they are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(Open::default());
    let tracker = TaskTracker::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    let mut next_id = 0u64;
    let mut accept_failing = false;
    let mut cap_warned: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => {
                accept_failing = false;
                stream
            }
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // out of descriptors or memory: the cap should prevent it, but another process
                // may share the limit; pausing lets closing connections free some
                if !accept_failing {
                    warn!(%error, "the HTTP listener cannot accept connections; retrying every second");
                    accept_failing = true;
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        // at the cap: close the oldest idle connection past its grace, and look again every
        // CAP_RECHECK until a slot is free (closing takes up to CLOSE_GRACE; a connection still
        // in its grace may become closable meanwhile); newcomers wait in the accept queue
        let permit = loop {
            if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
                break Some(permit);
            }
            let closing = open.close_oldest_idle(limits.new_connection_grace);
            let now = tokio::time::Instant::now();
            if cap_warned.is_none_or(|last| now.duration_since(last) >= CAP_WARNING_EVERY) {
                cap_warned = Some(now);
                warn!(
                    cap = limits.max_connections,
                    "the HTTP listener is at its connection cap; {}",
                    if closing {
                        "closing the oldest idle connections to make room"
                    } else {
                        "new connections wait for a request to finish"
                    }
                );
            }
            tokio::select! {
                () = shutdown.cancelled() => break None,
                permit = Arc::clone(&permits).acquire_owned() => break permit.ok(),
                () = tokio::time::sleep(CAP_RECHECK) => {}
            }
        };
        // None: shutting down (the semaphore is never closed)
        let Some(permit) = permit else {
            break;
        };
        // answers are small and wanted at once
        let _ = stream.set_nodelay(true);
        let id = next_id;
        next_id = next_id.wrapping_add(1);
        let slot = Arc::new(Slot {
            in_flight: AtomicUsize::new(0),
            close: shutdown.child_token(),
            opened: std::time::Instant::now(),
            socket: std::os::fd::AsRawFd::as_raw_fd(&stream),
        });
        open.insert(id, Arc::clone(&slot));
        let registration = Registration {
            open: Arc::clone(&open),
            id,
        };
        let builder = builder.clone();
        let router = router.clone();
        let request_timeout = limits.request_timeout;
        tracker.spawn(async move {
            let _permit = permit;
            let _registration = registration;
            let close = slot.close.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let in_flight = InFlight::start(&slot);
                let mut router = router.clone();
                async move {
                    let _in_flight = in_flight;
                    let path = request.uri().path().to_string();
                    let answer = tower_service::Service::call(&mut router, request.map(Body::new));
                    match tokio::time::timeout(request_timeout, answer).await {
                        Ok(response) => response,
                        Err(_) => {
                            info!(%path, timeout = %humantime::format_duration(request_timeout), "HTTP request not finished in time (body sent too slowly?); answered 408 and closed");
                            Ok::<_, Infallible>(request_timed_out())
                        }
                    }
                }
            });
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = close.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    tokio::time::timeout(CLOSE_GRACE, connection.as_mut())
                        .await
                        .unwrap_or(Ok(()))
                }
            };
            if let Err(error) = result {
                // timed-out heads, resets, garbage: the client's problem, and possibly a flood
                debug!(%error, "HTTP connection closed with an error");
            }
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

fn request_timed_out() -> Response {
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONNECTION, "close")],
        "request not received in time\n",
    )
        .into_response()
}

/// Errors that concern one connection only (it went away before being accepted).
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_a_quarter_of_the_open_files_limit_within_bounds() {
        assert_eq!(Limits::for_open_files(Some(256)).max_connections, 64);
        assert_eq!(Limits::for_open_files(Some(1024)).max_connections, 256);
        assert_eq!(
            Limits::for_open_files(Some(524_288)).max_connections,
            MAX_CONNECTIONS
        );
        assert_eq!(
            Limits::for_open_files(None).max_connections,
            MAX_CONNECTIONS
        );
        assert_eq!(Limits::for_open_files(Some(3)).max_connections, 1);
    }

    /// Accepted ends of `count` loopback connections, and their client ends.
    fn connections(count: usize) -> Vec<(std::net::TcpStream, std::net::TcpStream)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        (0..count)
            .map(|_| {
                let client = std::net::TcpStream::connect(address).unwrap();
                let (accepted, _) = listener.accept().unwrap();
                (accepted, client)
            })
            .collect()
    }

    fn slots_for(
        open: &Open,
        shutdown: &CancellationToken,
        sockets: &[(std::net::TcpStream, std::net::TcpStream)],
    ) -> Vec<Arc<Slot>> {
        sockets
            .iter()
            .enumerate()
            .map(|(id, (accepted, _))| {
                let slot = Arc::new(Slot {
                    in_flight: AtomicUsize::new(0),
                    close: shutdown.child_token(),
                    opened: std::time::Instant::now(),
                    socket: std::os::fd::AsRawFd::as_raw_fd(accepted),
                });
                open.insert(id as u64, Arc::clone(&slot));
                slot
            })
            .collect()
    }

    #[test]
    fn a_request_waiting_unread_is_not_what_is_closed_to_make_room() {
        use std::io::Write;
        let open = Open::default();
        let shutdown = CancellationToken::new();
        let sockets = connections(3);
        let slots = slots_for(&open, &shutdown, &sockets);
        // the oldest has sent its request, which its task has not read yet
        (&sockets[0].1)
            .write_all(b"GET /healthz HTTP/1.1\r\n\r\n")
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !slots[0].has_unread_bytes() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(slots[0].has_unread_bytes());
        assert!(!slots[1].has_unread_bytes());
        assert!(open.close_oldest_idle(Duration::ZERO));
        assert!(!slots[0].close.is_cancelled());
        assert!(slots[1].close.is_cancelled());
        assert!(open.close_oldest_idle(Duration::ZERO));
        assert!(slots[2].close.is_cancelled());
        // when only it is left, it goes too: the cap holds whatever clients send
        assert!(open.close_oldest_idle(Duration::ZERO));
        assert!(slots[0].close.is_cancelled());
    }

    #[test]
    fn only_connections_without_a_request_in_progress_are_closed_to_make_room() {
        let open = Open::default();
        let shutdown = CancellationToken::new();
        let sockets = connections(3);
        let slots = slots_for(&open, &shutdown, &sockets);
        let busy = InFlight::start(&slots[0]);
        assert!(open.close_oldest_idle(Duration::ZERO));
        assert!(!slots[0].close.is_cancelled());
        assert!(slots[1].close.is_cancelled());
        assert!(open.close_oldest_idle(Duration::ZERO));
        assert!(slots[2].close.is_cancelled());
        assert!(
            !open.close_oldest_idle(Duration::ZERO),
            "the busy one stays"
        );
        drop(busy);
        assert!(open.close_oldest_idle(Duration::ZERO));
    }

    use axum::body::Bytes;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A listener with `limits` serving `GET /healthz` and `POST /upload` (reads its body).
    async fn start(limits: Limits) -> (std::net::SocketAddr, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route(
                "/upload",
                post(|body: Bytes| async move { body.len().to_string() }),
            );
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, router, limits, shutdown.clone()));
        (address, shutdown)
    }

    /// Sends `request` on a new connection and reads until the server closes it.
    async fn exchange(address: std::net::SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_connections_beyond_the_cap_make_room_for_a_request() {
        // timeouts far beyond the test: only closing idle connections can make room
        let (address, shutdown) = start(Limits {
            header_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(600),
            max_connections: 2,
            new_connection_grace: NEW_CONNECTION_GRACE,
        })
        .await;
        let mut idle = Vec::new();
        for _ in 0..5 {
            idle.push(TcpStream::connect(address).await.unwrap());
        }
        let answer = tokio::time::timeout(
            Duration::from_secs(60),
            exchange(
                address,
                b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
            ),
        )
        .await
        .expect("a request beyond the cap was never answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok\n"), "{answer}");
        shutdown.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keep_alive_connection_left_idle_is_closed_after_the_header_timeout() {
        let (address, shutdown) = start(Limits {
            header_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(600),
            max_connections: 4,
            new_connection_grace: NEW_CONNECTION_GRACE,
        })
        .await;
        // answered and kept alive, then nothing more: only the idle timeout closes it
        let answer = tokio::time::timeout(
            Duration::from_secs(60),
            exchange(address, b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"),
        )
        .await
        .expect("the idle keep-alive connection was never closed");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok\n"), "{answer}");
        shutdown.cancel();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_sent_too_slowly_is_answered_408_and_the_connection_closed() {
        let (address, shutdown) = start(Limits {
            header_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_millis(300),
            max_connections: 4,
            new_connection_grace: NEW_CONNECTION_GRACE,
        })
        .await;
        // 10 of the 100 bytes announced, then nothing
        let answer = tokio::time::timeout(
            Duration::from_secs(60),
            exchange(
                address,
                b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789",
            ),
        )
        .await
        .expect("the connection was never closed");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        shutdown.cancel();
    }
}
