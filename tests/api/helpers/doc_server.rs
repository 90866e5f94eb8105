//! A loopback HTTP server for the documents Warden fetches in tests (client metadata
//! documents, JWK sets): configurable status, headers, delay and size; counts requests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One canned answer of the document server.
#[derive(Clone)]
pub struct Doc {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    delay: Option<Duration>,
    /// No Content-Length: the body ends when the connection closes.
    no_length: bool,
}

impl Doc {
    pub fn json(value: &Value) -> Doc {
        Doc {
            status: 200,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
            delay: None,
            no_length: false,
        }
    }

    pub fn raw(content_type: &'static str, body: &str) -> Doc {
        Doc {
            content_type,
            body: body.as_bytes().to_vec(),
            ..Doc::json(&Value::Null)
        }
    }

    pub fn redirect(to: &str) -> Doc {
        Doc::raw("text/plain", "moved")
            .status(302)
            .header("location", to)
    }

    pub fn status(mut self, status: u16) -> Doc {
        self.status = status;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Doc {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Doc {
        self.delay = Some(delay);
        self
    }

    pub fn without_length(mut self) -> Doc {
        self.no_length = true;
        self
    }
}

/// Serves `Doc`s by path on 127.0.0.1; counts the requests it answers.
pub struct DocServer {
    port: u16,
    docs: Arc<Mutex<HashMap<String, Doc>>>,
    hits: Arc<AtomicUsize>,
}

impl DocServer {
    pub async fn start() -> DocServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let docs: Arc<Mutex<HashMap<String, Doc>>> = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let (d, h) = (docs.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer(socket, d.clone(), h.clone()));
            }
        });
        DocServer { port, docs, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn serve(&self, path: &str, doc: Doc) {
        self.docs.lock().unwrap().insert(path.to_owned(), doc);
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn answer(
    mut socket: tokio::net::TcpStream,
    docs: Arc<Mutex<HashMap<String, Doc>>>,
    hits: Arc<AtomicUsize>,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 2048];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if request.len() > 64 * 1024 {
            return;
        }
    }
    hits.fetch_add(1, Ordering::SeqCst);
    let text = String::from_utf8_lossy(&request);
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    let doc = docs
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Doc::raw("text/plain", "not found").status(404));
    if let Some(delay) = doc.delay {
        tokio::time::sleep(delay).await;
    }
    let reason = match doc.status {
        200 => "OK",
        302 => "Found",
        404 => "Not Found",
        _ => "Whatever",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\nconnection: close\r\n",
        doc.status, doc.content_type
    );
    if !doc.no_length {
        head.push_str(&format!("content-length: {}\r\n", doc.body.len()));
    }
    for (name, value) in &doc.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(&doc.body).await;
    let _ = socket.shutdown().await;
}
