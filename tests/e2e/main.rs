//! End-to-end tests of the relay, one test binary with a module per area.

mod acceptance;
mod access;
mod admin;
mod bad_input;
mod browser;
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
