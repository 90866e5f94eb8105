//! A TCP proxy in front of Postgres that a test can take down and bring back, to cut the
//! database away from a running Warden.

use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards 127.0.0.1:<port> to Postgres while up; down cuts every connection and stops
/// listening, so new connections are refused, as with a stopped server.
pub struct Proxy {
    pub port: u16,
    up: Arc<tokio::sync::watch::Sender<bool>>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    pub async fn start(target: String) -> Proxy {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = first.local_addr().unwrap().port();
        let (up, mut watch) = tokio::sync::watch::channel(true);
        let links = Arc::new(Mutex::new(Vec::new()));
        let links2 = links.clone();
        tokio::spawn(async move {
            let mut listener = Some(first);
            loop {
                let Some(l) = listener.take() else {
                    // Down: wait to come back up, then listen on the same port again.
                    if watch.wait_for(|up| *up).await.is_err() {
                        return;
                    }
                    listener = Some(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
                    continue;
                };
                tokio::select! {
                    accepted = l.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let target = target.clone();
                        let link = tokio::spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                        links2.lock().unwrap().push(link.abort_handle());
                        listener = Some(l);
                    }
                    changed = watch.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *watch.borrow() {
                            listener = Some(l);
                        } // else: the listener is dropped here
                    }
                }
            }
        });
        Proxy {
            port,
            up: Arc::new(up),
            links,
        }
    }

    pub fn down(&self) {
        let _ = self.up.send(false);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn up(&self) {
        let _ = self.up.send(true);
    }
}
