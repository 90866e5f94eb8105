//! Connections that hold the server's resources without finishing anything: bodies that
//! never arrive (closed by `WARDEN_BODY_TIMEOUT` with 408), clients that pipeline requests
//! and never read the answers (closed by `WARDEN_SEND_TIMEOUT`), and an endless chunked
//! body after an error answer (closed at once instead of drained).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

use super::{
    Ending, RSS_CEILING_MB, RssWatch, Warden, metric_value, read_to_close, size, status_line,
};

/// A POST head with a form body of `length` bytes announced.
fn post_head(path: &str, length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn slow_bodies_get_408_and_are_closed_while_others_are_served() {
    let count = size("ABUSE_SLOW_BODIES", 200);
    let warden = Arc::new(Warden::start(&[("WARDEN_BODY_TIMEOUT", "2")]).await);
    let watch = RssWatch::start(warden.pid());

    // Each connection: the head, 10 of the 100 bytes it announces, then nothing.
    let mut slow = Vec::new();
    for _ in 0..count {
        let mut stream = warden.connect().await;
        let sent = Instant::now();
        stream
            .write_all(format!("{}grant_type", post_head("/token", 100)).as_bytes())
            .await
            .unwrap();
        slow.push(tokio::spawn(async move {
            let (answer, ending) = read_to_close(&mut stream, Duration::from_secs(10)).await;
            (answer, ending, sent.elapsed())
        }));
    }

    // Meanwhile the server serves everyone else.
    let started = Instant::now();
    let metadata = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .get(warden.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200, "served during the attack");
    let metadata_ms = started.elapsed().as_secs_f64() * 1000.0;

    // And a head with no body at all, on another route that reads its body.
    let mut silent = warden.connect().await;
    let silent_sent = Instant::now();
    silent
        .write_all(post_head("/introspect", 40).as_bytes())
        .await
        .unwrap();

    let mut times = Vec::new();
    let mut wrong = Vec::new();
    for task in slow {
        let (answer, ending, elapsed) = task.await.unwrap();
        let status = status_line(&answer);
        let text = String::from_utf8_lossy(&answer).to_string();
        if !status.starts_with("HTTP/1.1 408")
            || !text.contains("invalid_request")
            || ending != Ending::Closed
            || elapsed < Duration::from_millis(1900)
            || elapsed > Duration::from_secs(6)
        {
            wrong.push(format!("{status:?} {ending:?} after {elapsed:?}"));
        }
        times.push(elapsed);
    }
    let (answer, ending) = read_to_close(&mut silent, Duration::from_secs(10)).await;
    let silent_elapsed = silent_sent.elapsed();
    times.sort();
    let peak = watch.finish(warden.pid()).await;
    let timeouts = metric_value(&warden.metrics().await, "warden_body_timeouts_total");
    println!(
        "slow bodies: {count} connections; answered and closed after {:?} (first) to {:?} \
         (last); metadata served in {metadata_ms:.1} ms meanwhile; head without body: {:?} \
         {ending:?} after {silent_elapsed:?}; peak RSS {peak:.1} MB; \
         warden_body_timeouts_total {timeouts:?}",
        times.first(),
        times.last(),
        status_line(&answer),
    );
    assert!(
        wrong.is_empty(),
        "{} of {count} slow bodies were not answered 408 and closed within 2-6 s: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
    assert!(
        status_line(&answer).starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
    assert_eq!(ending, Ending::Closed);
    assert!(silent_elapsed < Duration::from_secs(6));
    assert!(peak < RSS_CEILING_MB, "peak RSS {peak:.1} MB");
    assert!(
        timeouts.unwrap_or(0.0) >= count as f64 + 1.0,
        "every body timeout counted in /metrics"
    );
}

#[tokio::test]
async fn clients_that_never_read_their_answers_are_disconnected_by_the_send_timeout() {
    let count = size("ABUSE_NONREADERS", 200);
    let warden = Warden::start(&[("WARDEN_SEND_TIMEOUT", "2")]).await;
    let baseline = warden.open_fds();
    let watch = RssWatch::start(warden.pid());

    // Each client asks for the ~80 KB OpenAPI document many times over, pipelined, with a
    // 4 KB receive buffer, and reads nothing.
    let requests = "GET /admin/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(64);
    let mut clients = Vec::new();
    for _ in 0..count {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket
            .connect(([127, 0, 0, 1], warden.port).into())
            .await
            .unwrap();
        stream.write_all(requests.as_bytes()).await.unwrap();
        clients.push(stream);
    }
    let sent = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = warden.open_fds();

    // The server gives up on them: its descriptors fall back near the baseline.
    let mut fds = held;
    while fds > baseline + 20 && sent.elapsed() < Duration::from_secs(2 + 10) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        fds = warden.open_fds();
    }
    let closed_after = sent.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = warden.open_fds();
    let peak = watch.finish(warden.pid()).await;
    println!(
        "non-readers: {count} connections; server fds {baseline} before, {held} held, \
         {fds} after {closed_after:?}, {settled} a second later; peak RSS {peak:.1} MB"
    );
    assert!(
        held >= baseline + count / 2,
        "the connections were open at the server ({held} fds, baseline {baseline})"
    );
    assert!(
        fds <= baseline + 20,
        "the server still holds {fds} fds (baseline {baseline}) {closed_after:?} after the \
         requests: non-reading clients were not disconnected"
    );
    assert!(peak < RSS_CEILING_MB, "peak RSS {peak:.1} MB");
    drop(clients);
    let response = reqwest::get(warden.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the server carries on");
}

/// Sends `head` with a wrong content type, so that /token answers 400 without reading the
/// body, then writes `chunk` after `chunk` for up to 15 s. Returns the answer and how long
/// the server took to close the connection (`None`: it never did).
async fn endless_body(warden: &Warden, head: &str, chunk: String) -> (String, Option<Duration>) {
    let (mut reader, mut writer) = warden.connect().await.into_split();
    let started = Instant::now();
    writer.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        while started.elapsed() < Duration::from_secs(15) {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    });
    let (answer, ending) = read_to_close(&mut reader, Duration::from_secs(15)).await;
    let read_ended = started.elapsed();
    let write_failed = sender.await.unwrap();
    let closed = match ending {
        Ending::Closed | Ending::Reset => Some(read_ended),
        Ending::StillOpen => write_failed,
    };
    (
        String::from_utf8_lossy(&answer).to_ascii_lowercase(),
        closed,
    )
}

#[tokio::test]
async fn an_endless_chunked_body_after_an_error_answer_is_cut_off_not_drained() {
    let warden = Warden::start(&[]).await;
    let head = |framing: &str| {
        format!(
            "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n{framing}\r\n\r\n"
        )
    };
    let (sized, sized_closed) = endless_body(
        &warden,
        &head("Content-Length: 1000000000"),
        "x".repeat(1024),
    )
    .await;
    let (chunked, chunked_closed) = endless_body(
        &warden,
        &head("Transfer-Encoding: chunked"),
        format!("400\r\n{}\r\n", "x".repeat(0x400)),
    )
    .await;
    println!(
        "endless bodies after a 400: Content-Length: {:?}, closed after {sized_closed:?}; \
         chunked: {:?}, closed after {chunked_closed:?} (None: still open after 15 s)",
        status_line(sized.as_bytes()),
        status_line(chunked.as_bytes()),
    );
    for (framing, answer, closed) in [
        ("Content-Length", &sized, sized_closed),
        ("chunked", &chunked, chunked_closed),
    ] {
        assert!(answer.starts_with("http/1.1 400"), "{framing}: {answer}");
        assert!(answer.contains("connection: close"), "{framing}: {answer}");
        // A chunked body was drained for as long as the client sent it until the unread
        // payload was held until the response body ended (`http::connection::HoldPayload`):
        // actix decides again at the end of the body, and drains a dropped chunked payload.
        assert!(
            closed.is_some_and(|c| c < Duration::from_secs(5)),
            "{framing}: the server kept reading the body: not closed after {closed:?}"
        );
    }
}
