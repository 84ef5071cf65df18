//! The Contact Point relay: automerge-repo v1 sync over WebSocket with documents stored in
//! SQLite, identities from invite codes, and per-document access control.
//!
//! Two seams for tests: [`http::app`] builds the router for in-process use, and [`serve`] (or
//! [`serve_with`], with chosen network limits) runs it on a listener until a shutdown future
//! completes.

pub mod admin;
pub mod auth;
pub mod banner;
pub mod calendar;
pub mod content;
pub mod gate;
pub mod http;
pub mod listen;
pub mod mailbox;
pub mod relay;
pub mod rotate;
pub mod storage;
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
    let watcher = tokio::spawn(relay::watch_database(relay.clone()));
    let r = listen::serve(listener, http::app(relay, web), net, shutdown).await;
    watcher.abort();
    r
}
