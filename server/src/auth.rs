//! Identities and access: invite codes, device tokens, roles, and the per-document access
//! decision. Tokens and codes are random and stored only as SHA-256 hashes.

use contactpoint_directory::Area;
use contactpoint_protocol::Access;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::storage::{AuditEntry, Scope, StorageError, insert_audit, now_ms};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads every published document.
    Reader,
    /// Also writes the documents of the areas listed for the user.
    Editor,
    /// Writes everything and administers users.
    Admin,
}

impl Role {
    /// Parses `reader`, `editor` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "reader" => Some(Role::Reader),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

/// The authenticated user and device behind a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub user_id: i64,
    /// Device id (one per redeemed invite).
    pub device_id: i64,
    /// Display name.
    pub user_name: String,
    /// Role.
    pub role: Role,
    /// Areas the user edits, in `Area` text form.
    pub areas: Vec<String>,
}

impl Identity {
    /// The access this identity has to a document of the given scope.
    /// Everyone signed in reads every document; writing depends on role and area.
    pub fn access(&self, scope: &Scope) -> Access {
        let write = match (self.role, scope) {
            (Role::Admin, _) => true,
            (Role::Editor, Scope::Area(a)) => self.areas.iter().any(|x| x == a),
            _ => false,
        };
        if write { Access::Write } else { Access::Read }
    }

    /// Whether a `sync` for an unknown document may create it.
    pub fn may_create(&self) -> bool {
        self.role == Role::Admin
    }

    /// An audit entry attributed to this identity.
    pub fn audit(&self, doc: Option<String>, action: &str, detail: String) -> AuditEntry {
        AuditEntry {
            user_id: Some(self.user_id),
            device_id: Some(self.device_id),
            doc_id: doc,
            action: action.to_owned(),
            detail,
        }
    }
}

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
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// SHA-256 of the text, hex encoded: how tokens and invite codes are stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new device token: 32 random bytes, base58.
pub fn new_token() -> String {
    format!("cpt_{}", bs58::encode(random_bytes::<32>()).into_string())
}

// Crockford's base32 without I, L, O, U: easy to read aloud and type on a phone.
const CODE_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new invite code: 15 random characters (75 bits) in three groups, e.g. `K7QX-2M9D-P4TR`.
pub fn new_invite_code() -> String {
    let bytes = random_bytes::<15>();
    let chars: String = bytes.iter().map(|b| CODE_ALPHABET[usize::from(b & 31)] as char).collect();
    format!("{}-{}-{}", &chars[0..5], &chars[5..10], &chars[10..15])
}

/// Normalises a typed invite code: case, spaces and dashes do not matter, and the letters
/// people confuse with digits are read as those digits.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// What an invite grants.
#[derive(Clone, Debug)]
pub struct InviteSpec {
    /// Role of the user created on redemption.
    pub role: Role,
    /// Areas they edit.
    pub areas: Vec<Area>,
    /// The user's display name, if known when inviting.
    pub user_name: Option<String>,
    /// Validity from now.
    pub valid_for_ms: i64,
    /// How many devices may redeem it.
    pub uses: i64,
}

/// Why an invite could not be created or redeemed. Shown to the person as it is.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// Unknown, used up or expired code; deliberately one message, so codes cannot be probed.
    #[error("this invite code is not valid: it may be mistyped, already used or expired")]
    Invalid,
    /// An editor invite must name at least one area.
    #[error("an editor must be given at least one --area")]
    EditorWithoutArea,
    /// Device name missing or absurd.
    #[error("device_name must be 1 to 100 characters")]
    DeviceName,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for InviteError {
    fn from(e: rusqlite::Error) -> Self {
        InviteError::Storage(e.into())
    }
}

/// Creates an invite and returns its code (shown once, stored hashed).
pub fn create_invite(conn: &mut Connection, spec: &InviteSpec, by: Option<&str>) -> Result<String, InviteError> {
    if spec.role == Role::Editor && spec.areas.is_empty() {
        return Err(InviteError::EditorWithoutArea);
    }
    let code = new_invite_code();
    let areas: Vec<String> = spec.areas.iter().map(ToString::to_string).collect();
    let now = now_ms();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO invites(code_hash, role, areas, user_name, created_at, expires_at, uses_left)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            hash_secret(&normalize_code(&code)),
            spec.role.as_str(),
            areas.join(" "),
            spec.user_name,
            now,
            now.saturating_add(spec.valid_for_ms),
            spec.uses
        ],
    )?;
    insert_audit(
        &tx,
        &AuditEntry {
            user_id: None,
            device_id: None,
            doc_id: None,
            action: "invite.create".into(),
            detail: format!("role={} areas=[{}] by={}", spec.role.as_str(), areas.join(" "), by.unwrap_or("cli")),
        },
    )?;
    tx.commit()?;
    Ok(code)
}

/// The result of redeeming an invite.
#[derive(Debug)]
pub struct Redeemed {
    /// The device token: shown once, kept by the device.
    pub token: String,
    /// Who the device belongs to.
    pub identity: Identity,
}

/// Redeems an invite code for a new user and device, atomically (a code cannot be used twice
/// even by two requests racing).
pub fn redeem(conn: &mut Connection, code: &str, device_name: &str) -> Result<Redeemed, InviteError> {
    let device_name = device_name.trim();
    if device_name.is_empty() || device_name.chars().count() > 100 {
        return Err(InviteError::DeviceName);
    }
    let now = now_ms();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let row = tx
        .query_row(
            "SELECT id, role, areas, user_name FROM invites
             WHERE code_hash = ?1 AND uses_left > 0 AND expires_at > ?2",
            params![hash_secret(&normalize_code(code)), now],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((invite_id, role, areas, user_name)) = row else { return Err(InviteError::Invalid) };
    let role = Role::parse(&role).ok_or(InviteError::Invalid)?;
    tx.execute("UPDATE invites SET uses_left = uses_left - 1 WHERE id = ?1", [invite_id])?;
    let name = user_name.unwrap_or_else(|| device_name.to_owned());
    tx.execute("INSERT INTO users(name, role, created_at) VALUES (?1, ?2, ?3)", params![name, role.as_str(), now])?;
    let user_id = tx.last_insert_rowid();
    let areas: Vec<String> = areas.split_whitespace().map(str::to_owned).collect();
    for a in &areas {
        tx.execute("INSERT INTO user_areas(user_id, area) VALUES (?1, ?2)", params![user_id, a])?;
    }
    let token = new_token();
    tx.execute(
        "INSERT INTO devices(user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![user_id, device_name, hash_secret(&token), now],
    )?;
    let device_id = tx.last_insert_rowid();
    let identity = Identity { user_id, device_id, user_name: name, role, areas };
    insert_audit(&tx, &identity.audit(None, "invite.redeem", format!("invite={invite_id} device={device_name}")))?;
    tx.commit()?;
    Ok(Redeemed { token, identity })
}

/// Replaces a device's token with a new one (the old one stops working at once). Returns the new
/// token, or `None` when the old one is not a valid token.
pub fn rotate_token(conn: &mut Connection, old_token: &str) -> Result<Option<String>, StorageError> {
    let tx = conn.transaction()?;
    let Some(identity) = crate::storage::identity_by_token_hash(&tx, &hash_secret(old_token))? else {
        return Ok(None);
    };
    let token = new_token();
    tx.execute(
        "UPDATE devices SET token_hash = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![hash_secret(&token), identity.device_id],
    )?;
    insert_audit(&tx, &identity.audit(None, "device.rotate", String::new()))?;
    tx.commit()?;
    Ok(Some(token))
}

/// Limits failed invite-code attempts per client address, so codes cannot be guessed quickly:
/// a burst of [`RedeemLimiter::BURST`], then one attempt per [`RedeemLimiter::REFILL`].
#[derive(Default)]
pub struct RedeemLimiter {
    buckets: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (f64, std::time::Instant)>>,
}

impl RedeemLimiter {
    /// Failed attempts allowed at once.
    pub const BURST: f64 = 5.0;
    /// Time for one more attempt to become available.
    pub const REFILL: std::time::Duration = std::time::Duration::from_secs(12);

    fn tokens(&self, ip: std::net::IpAddr, now: std::time::Instant, take: bool) -> bool {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Addresses that have refilled completely carry no information.
            map.retain(|_, (t, at)| {
                *t + now.duration_since(*at).as_secs_f64() / Self::REFILL.as_secs_f64() < Self::BURST
            });
        }
        let (t, at) = map.entry(ip).or_insert((Self::BURST, now));
        *t = (*t + now.duration_since(*at).as_secs_f64() / Self::REFILL.as_secs_f64()).min(Self::BURST);
        *at = now;
        if *t < 1.0 {
            return false;
        }
        if take {
            *t -= 1.0;
        }
        true
    }

    /// Whether this address may try a code now.
    pub fn allowed(&self, ip: std::net::IpAddr) -> bool {
        self.tokens(ip, std::time::Instant::now(), false)
    }

    /// Counts a failed attempt from this address.
    pub fn failed(&self, ip: std::net::IpAddr) {
        self.tokens(ip, std::time::Instant::now(), true);
    }
}

/// Revokes a device: its token stops working and the relay closes its connections.
pub fn revoke_device(conn: &Connection, device_id: i64) -> Result<bool, StorageError> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        params![now_ms(), device_id],
    )?;
    if n > 0 {
        insert_audit(
            conn,
            &AuditEntry {
                user_id: None,
                device_id: Some(device_id),
                doc_id: None,
                action: "device.revoke".into(),
                detail: String::new(),
            },
        )?;
    }
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Db, identity_by_token_hash};

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("a.sqlite")).unwrap();
        (dir, db)
    }

    #[test]
    fn invite_is_single_use_and_token_identifies_the_device() {
        let (_d, db) = db();
        let spec = InviteSpec {
            role: Role::Editor,
            areas: vec!["091".parse().unwrap()],
            user_name: Some("Helsinki contact person".into()),
            valid_for_ms: 60_000,
            uses: 1,
        };
        let code =
            db.with(|c| create_invite(c, &spec, None).map_err(|e| StorageError::Invalid(e.to_string()))).unwrap();
        // Typed in lower case with spaces: still the same code.
        let typed = code.to_lowercase().replace('-', " ");
        let r = db.with(|c| Ok(redeem(c, &typed, "phone"))).unwrap().unwrap();
        assert_eq!(r.identity.areas, vec!["municipality:091"]);
        let again = db.with(|c| Ok(redeem(c, &code, "phone 2"))).unwrap();
        assert!(matches!(again, Err(InviteError::Invalid)));
        let found = db.with(|c| identity_by_token_hash(c, &hash_secret(&r.token))).unwrap();
        assert_eq!(found.as_ref().map(|i| i.role), Some(Role::Editor));
        db.with(|c| revoke_device(c, r.identity.device_id)).unwrap();
        assert_eq!(db.with(|c| identity_by_token_hash(c, &hash_secret(&r.token))).unwrap(), None);
    }

    #[test]
    fn expired_invites_and_editors_without_areas_are_refused() {
        let (_d, db) = db();
        let spec = InviteSpec { role: Role::Reader, areas: vec![], user_name: None, valid_for_ms: -1, uses: 1 };
        let code =
            db.with(|c| create_invite(c, &spec, None).map_err(|e| StorageError::Invalid(e.to_string()))).unwrap();
        assert!(matches!(db.with(|c| Ok(redeem(c, &code, "p"))).unwrap(), Err(InviteError::Invalid)));
        let spec = InviteSpec { role: Role::Editor, areas: vec![], user_name: None, valid_for_ms: 1, uses: 1 };
        assert!(matches!(db.with(|c| Ok(create_invite(c, &spec, None))).unwrap(), Err(InviteError::EditorWithoutArea)));
    }

    #[test]
    fn access_follows_role_and_area() {
        let id = |role, areas: &[&str]| Identity {
            user_id: 1,
            device_id: 1,
            user_name: String::new(),
            role,
            areas: areas.iter().map(|s| s.to_string()).collect(),
        };
        let a = Scope::Area("municipality:091".into());
        let b = Scope::Area("municipality:853".into());
        assert_eq!(id(Role::Reader, &[]).access(&a), Access::Read);
        assert_eq!(id(Role::Editor, &["municipality:091"]).access(&a), Access::Write);
        assert_eq!(id(Role::Editor, &["municipality:091"]).access(&b), Access::Read);
        assert_eq!(id(Role::Editor, &["municipality:091"]).access(&Scope::National), Access::Read);
        assert_eq!(id(Role::Admin, &[]).access(&Scope::National), Access::Write);
    }
}
