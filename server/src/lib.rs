//! The Contact Point relay: automerge-repo v1 sync over WebSocket with documents stored in
//! SQLite, identities from invite codes, and per-document access control.
//!
//! Two seams for tests: [`http::app`] builds the router for in-process use, and [`serve`] runs
//! it on a listener until a shutdown future completes.

pub mod admin;
pub mod auth;
pub mod banner;
pub mod calendar;
pub mod content;
pub mod gate;
pub mod http;
pub mod relay;
pub mod storage;
pub mod web;

use std::future::Future;
use std::sync::Arc;

pub use relay::{Limits, Relay};

/// Serves the relay (and the web app in `web`, if given) on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    relay: Arc<Relay>,
    web: Option<std::path::PathBuf>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = tokio::spawn(relay::watch_database(relay.clone()));
    // Sync messages are small and latency matters more than packet count: no Nagle delay.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // The client's address is known to handlers that limit by it (invite redemption).
    let app = http::app(relay, web).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let r = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    watcher.abort();
    r
}
