//! Random bytes and ids from the operating system's source.

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS random source failing is not something the relay can work around.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system's random source is unavailable");
    b
}

/// A random UUID v4 as text.
pub fn random_uuid() -> String {
    contactpoint_directory::ids::uuid_v4(random_bytes::<16>())
}
