//! Deterministic, UUID-shaped ids derived from names, for seed data and imports.
//!
//! The crate never draws randomness, so ids that must be stable across runs (the seed's contact
//! points, the actor of the seed documents) are hashed from a namespace and a name. The result is
//! formatted as a version-8 ("custom") UUID so it fits wherever HSDS expects a UUID.

/// 64-bit FNV-1a over the bytes, starting from `basis`.
fn fnv1a(basis: u64, parts: &[&str]) -> u64 {
    let mut h = basis;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Sixteen bytes derived from a namespace and a name.
pub fn stable_bytes(namespace: &str, name: &str) -> [u8; 16] {
    let a = fnv1a(0xcbf2_9ce4_8422_2325, &[namespace, name]);
    // A second, differently seeded pass gives the other half.
    let b = fnv1a(0x8422_2325_cbf2_9ce4 ^ a.rotate_left(17), &[name, namespace]);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out[6] = (out[6] & 0x0f) | 0x80; // version 8
    out[8] = (out[8] & 0x3f) | 0x80; // RFC 4122 variant
    out
}

/// A UUID-shaped id (`xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx`) derived from a namespace and a name.
pub fn stable_id(namespace: &str, name: &str) -> String {
    uuid_string(&stable_bytes(namespace, name))
}

/// A random UUID (version 4) in its text form, from sixteen random bytes the caller drew: the
/// version and variant bits are set here.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    uuid_string(&b)
}

/// Sixteen bytes in the UUID text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn uuid_string(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_uuid_shaped() {
        let a = stable_id("contact", "112");
        assert_eq!(a, stable_id("contact", "112"));
        assert_ne!(a, stable_id("contact", "116 006"));
        assert_ne!(a, stable_id("organisation", "112"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }

    #[test]
    fn random_ids_carry_the_version_4_bits() {
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
    }
}
