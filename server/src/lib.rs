//! The Contact Point relay: automerge-repo v1 sync over WebSocket with documents stored in
//! SQLite, identities from invite codes, and per-document access control.
//!
//! Two seams for tests: [`http::app`] builds the router for in-process use, and [`serve`] (or
//! [`serve_with`], with chosen network limits) runs it on a listener until a shutdown future
//! completes, then shuts down gracefully: no more accepting, WebSockets closed with code 1001,
//! queued document work committed and sync states saved.

pub mod access;
pub mod admin;
pub mod admin_http;
pub mod auth;
pub mod backup;
pub mod banner;
pub mod calendar;
pub mod content;
pub mod gate;
pub mod heap;
pub mod http;
pub mod listen;
pub mod mailbox;
pub mod metrics;
pub mod notice;
pub mod random;
pub mod relay;
pub mod rotate;
pub mod sql;
pub mod storage;
pub mod watch;
pub mod web;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

pub use listen::NetLimits;
pub use relay::{Limits, Relay};

/// Serves the relay (and the web app in `web`, if given) on `listener` until `shutdown` completes,
/// with the default [`NetLimits`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    relay: Arc<Relay>,
    web: Option<std::path::PathBuf>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, relay, web, NetLimits::default(), shutdown).await
}

/// [`serve`] with chosen limits on connections.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    relay: Arc<Relay>,
    web: Option<std::path::PathBuf>,
    net: NetLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let watcher = tokio::spawn(watch::watch_database(relay.clone()));
    // `/readyz` answers 503 from the moment shutdown begins, before any socket closes.
    let marking = relay.clone();
    let shutdown = async move {
        shutdown.await;
        marking.begin_shutdown();
    };
    let counted = relay.clone();
    let on_refusal: listen::OnRefusal = Arc::new(move |reason| counted.metrics.handshake_failed(reason));
    let r = listen::serve(listener, http::app(relay.clone(), web), net, on_refusal, shutdown).await;
    watcher.abort();
    if relay.is_shutting_down() {
        relay.shut_down(SHUTDOWN_GRACE).await;
    }
    r
}

/// How long closing WebSockets and finishing document tasks may take once the listener has
/// stopped and HTTP requests under way have had [`listen::HTTP_DRAIN`]: together under 5 s.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(3);
