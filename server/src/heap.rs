//! The relay's heap, counted: the `contactpoint` binary installs [`Counting`] as its global
//! allocator, so that `/metrics` (and the idle-device test) can read the bytes allocated and not
//! yet freed, which unlike resident memory does not move with the allocator's caching.

use std::sync::OnceLock;

/// The system allocator with a count of the bytes it has handed out and not taken back.
pub type Counting = cap::Cap<std::alloc::System>;

/// A counting allocator for `#[global_allocator]`, without a limit.
pub const fn counting() -> Counting {
    cap::Cap::new(std::alloc::System, usize::MAX)
}

static INSTALLED: OnceLock<&'static Counting> = OnceLock::new();

/// Makes the global allocator's count readable through [`allocated`].
pub fn install(allocator: &'static Counting) {
    let _ = INSTALLED.set(allocator);
}

/// Bytes allocated and not freed, when the process counts them.
pub fn allocated() -> Option<usize> {
    INSTALLED.get().map(|a| a.allocated())
}
