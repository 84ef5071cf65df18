//! End-to-end tests of the relay, one test binary with a module per area.

/// Runs a storage-facing test, a function taking the [`contactpoint_tests::Engine`], once on each
/// engine: `on_both_engines!(fn name)` or `on_both_engines!(#[tokio::test] async fn name)` makes
/// a module `name` with the tests `sqlite` and `postgres`.
macro_rules! on_both_engines {
    (#[$attr:meta] async fn $name:ident) => {
        mod $name {
            #[$attr]
            async fn sqlite() -> anyhow::Result<()> {
                super::$name(contactpoint_tests::Engine::Sqlite).await
            }
            #[$attr]
            async fn postgres() -> anyhow::Result<()> {
                super::$name(contactpoint_tests::Engine::Postgres).await
            }
        }
    };
    (fn $name:ident) => {
        mod $name {
            #[test]
            fn sqlite() -> anyhow::Result<()> {
                super::$name(contactpoint_tests::Engine::Sqlite)
            }
            #[test]
            fn postgres() -> anyhow::Result<()> {
                super::$name(contactpoint_tests::Engine::Postgres)
            }
        }
    };
}

mod acceptance;
mod access;
mod admin;
mod bad_input;
mod browser;
mod cluster;
mod cluster_compaction;
mod content;
mod convergence;
mod durability;
mod erasure;
mod fast_sync;
mod fuzz_replay;
mod hardening;
mod hardening_auth;
mod hardening_net;
mod idle_memory;
mod interop;
mod members_only;
mod operations;
mod relay_sync;
mod routing;
mod rules;
mod simulation;
mod tidy;
mod validation;
