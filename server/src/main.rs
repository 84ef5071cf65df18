//! The `contactpoint` command.
fn main() {}
