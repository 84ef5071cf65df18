//! Identities and access: invite codes, device tokens, roles, and the per-document access
//! decision. Tokens and codes are random and stored only as SHA-256 hashes.

use crate::sql::Conn;
use contactpoint_directory::Area;
use contactpoint_protocol::Access;
use sha2::{Digest, Sha256};

use crate::access::Scope;
pub use crate::access::{Identity, Role};
use crate::random::random_bytes;
use crate::storage::{AuditEntry, StorageError, insert_audit, now_ms};

impl Identity {
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

/// An area's members-only document that a user may read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MembersOnlyDocument {
    /// The document id.
    pub id: String,
    /// Its area, in `Area` text form.
    pub area: String,
}

/// The members-only documents the identity may read (not tombstoned), oldest first. The catalogue
/// every device reads does not list them, so a device learns of them only from this list.
pub fn members_only_documents(conn: &Conn, identity: &Identity) -> Result<Vec<MembersOnlyDocument>, StorageError> {
    Ok(crate::storage::list_docs(conn)?
        .into_iter()
        .filter_map(|(id, scope, tombstoned)| match scope {
            Scope::Restricted(area)
                if !tombstoned && identity.access(&Scope::Restricted(area.clone())) != Access::None =>
            {
                Some(MembersOnlyDocument { id, area })
            }
            _ => None,
        })
        .collect())
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

/// A new invite code: 15 random characters (75 bits) in three groups of five, e.g. `K7QXA-2M9DB-P4TRC`.
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

/// Why an invite or a user could not be created, or an invite redeemed. Shown to the person as
/// it is.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// A code the relay never issued: most likely mistyped. (A code has 75 random bits, so
    /// telling this apart from a used or expired one helps nobody guess one.)
    #[error("this invite code is not valid; check that it was typed as given")]
    Unknown,
    /// A code whose uses are all taken.
    #[error("this invite code has already been used; ask an administrator for a new one")]
    UsedUp,
    /// A code past its expiry.
    #[error("this invite code has expired; ask an administrator for a new one")]
    Expired,
    /// A code for a new device of a user who has been disabled since.
    #[error("this invite is no longer valid because its account was disabled; ask an administrator")]
    Withdrawn,
    /// An editor invite must name at least one area.
    #[error("an editor must be given at least one --area")]
    EditorWithoutArea,
    /// Device name missing or absurd.
    #[error("device_name must be 1 to 100 characters")]
    DeviceName,
    /// A user's name missing or absurd.
    #[error("the user's name must be 1 to 100 characters")]
    UserName,
    /// An invite for a user who does not exist.
    #[error("there is no user {0}; list users with `contactpoint admin users`")]
    NoSuchUser(i64),
    /// An invite for a disabled user.
    #[error("user {0} is disabled and cannot be given new devices")]
    UserDisabled(i64),
    /// An invite no device could redeem.
    #[error("an invite must allow at least 1 use and be valid for at least 1 day")]
    UsesOrDays,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl InviteError {
    /// A stable code for the app to word the error in the person's language.
    pub fn code(&self) -> &'static str {
        match self {
            InviteError::Unknown => "invite_unknown",
            InviteError::UsedUp => "invite_used",
            InviteError::Expired => "invite_expired",
            InviteError::Withdrawn => "invite_withdrawn",
            InviteError::EditorWithoutArea => "editor_without_area",
            InviteError::DeviceName => "device_name",
            InviteError::UserName => "user_name",
            InviteError::NoSuchUser(_) => "no_such_user",
            InviteError::UserDisabled(_) => "user_disabled",
            InviteError::UsesOrDays => "invite_uses_or_days",
            InviteError::Storage(_) => "internal",
        }
    }

    /// Whether the code itself was refused, which counts as a failed attempt against the
    /// address's limit.
    pub fn is_refused_code(&self) -> bool {
        matches!(self, InviteError::Unknown | InviteError::UsedUp | InviteError::Expired | InviteError::Withdrawn)
    }
}

/// Areas as stored: their text form, each once, sorted.
pub fn area_keys(areas: &[Area]) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = areas.iter().map(ToString::to_string).collect();
    set.into_iter().collect()
}

/// Stores a new invite and returns its code. `user_id` makes it an invite for a new device of
/// that existing user; otherwise redeeming it creates a user with `role` and `areas`.
#[allow(clippy::too_many_arguments)]
fn insert_invite(
    tx: &Conn,
    role: Role,
    areas: &[String],
    user_name: Option<&str>,
    user_id: Option<i64>,
    valid_for_ms: i64,
    uses: i64,
) -> Result<String, InviteError> {
    let code = new_invite_code();
    let now = now_ms();
    tx.execute(
        "INSERT INTO invites(code_hash, role, areas, user_name, created_at, expires_at, uses_left, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        crate::args![
            hash_secret(&normalize_code(&code)),
            role.as_str(),
            areas.join(" "),
            user_name,
            now,
            now.saturating_add(valid_for_ms),
            uses,
            user_id
        ],
    )?;
    Ok(code)
}

/// Creates an invite and returns its code (shown once, stored hashed).
pub fn create_invite(conn: &mut Conn, spec: &InviteSpec, by: Option<&str>) -> Result<String, InviteError> {
    if spec.role == Role::Editor && spec.areas.is_empty() {
        return Err(InviteError::EditorWithoutArea);
    }
    if spec.uses < 1 || spec.valid_for_ms < 1 {
        return Err(InviteError::UsesOrDays);
    }
    // An editor can edit from the first minute: their areas' documents exist before the invite.
    if spec.role == Role::Editor {
        crate::admin::ensure_area_documents(conn, &spec.areas)?;
    }
    let areas = area_keys(&spec.areas);
    let tx = conn.transaction()?;
    let code = insert_invite(&tx, spec.role, &areas, spec.user_name.as_deref(), None, spec.valid_for_ms, spec.uses)?;
    insert_audit(
        &tx,
        &AuditEntry {
            user_id: None,
            device_id: None,
            doc_id: None,
            action: "invite.create".into(),
            detail: format!(
                "role={} areas=[{}] uses={} by={}",
                spec.role.as_str(),
                areas.join(" "),
                spec.uses,
                by.unwrap_or("cli")
            ),
        },
    )?;
    tx.commit()?;
    Ok(code)
}

/// Creates an invite that adds a device to an existing, active user (their role and areas stay
/// as they are) and returns its code. Disabled users get no invites.
pub fn create_device_invite(
    conn: &mut Conn,
    user_id: i64,
    valid_for_ms: i64,
    uses: i64,
    by: Option<&str>,
) -> Result<String, InviteError> {
    if uses < 1 || valid_for_ms < 1 {
        return Err(InviteError::UsesOrDays);
    }
    let tx = conn.transaction()?;
    let user = tx.query_opt(
        "SELECT name, role, disabled_at IS NOT NULL FROM users WHERE id = ?1",
        crate::args![user_id],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<bool>(2)?)),
    )?;
    let Some((name, role, disabled)) = user else { return Err(InviteError::NoSuchUser(user_id)) };
    if disabled {
        return Err(InviteError::UserDisabled(user_id));
    }
    let role =
        Role::parse(&role).ok_or_else(|| StorageError::Invalid(format!("user {user_id} has unknown role {role}")))?;
    let code = insert_invite(&tx, role, &[], Some(&name), Some(user_id), valid_for_ms, uses)?;
    insert_audit(
        &tx,
        &AuditEntry {
            user_id: Some(user_id),
            device_id: None,
            doc_id: None,
            action: "invite.create".into(),
            detail: format!("new device for user {user_id} by={}", by.unwrap_or("cli")),
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

/// Redeems an invite code for a new device, atomically (a code cannot be used twice even by two
/// requests racing). The device belongs to a new user, or, for an invite made for an existing
/// user, to that user as long as they are not disabled.
pub fn redeem(conn: &mut Conn, code: &str, device_name: &str) -> Result<Redeemed, InviteError> {
    let device_name = device_name.trim();
    if device_name.is_empty() || device_name.chars().count() > 100 {
        return Err(InviteError::DeviceName);
    }
    let now = now_ms();
    let tx = conn.transaction_immediate()?;
    let row = tx.query_opt(
        "SELECT id, role, areas, user_name, user_id, uses_left, expires_at FROM invites WHERE code_hash = ?1",
        crate::args![hash_secret(&normalize_code(code))],
        |r| {
            Ok((
                (
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Option<String>>(3)?,
                    r.get::<Option<i64>>(4)?,
                ),
                r.get::<i64>(5)?,
                r.get::<i64>(6)?,
            ))
        },
    )?;
    let Some((invite, uses_left, expires_at)) = row else { return Err(InviteError::Unknown) };
    if uses_left <= 0 {
        return Err(InviteError::UsedUp);
    }
    if expires_at <= now {
        return Err(InviteError::Expired);
    }
    let (invite_id, role, areas, user_name, existing) = invite;
    tx.execute("UPDATE invites SET uses_left = uses_left - 1 WHERE id = ?1", crate::args![invite_id])?;
    let (user_id, name, role, areas) = match existing {
        Some(user_id) => {
            // The user's current name, role and areas; a user disabled since the invite was made
            // gets no device.
            let user = tx.query_opt(
                "SELECT name, role FROM users WHERE id = ?1 AND disabled_at IS NULL",
                crate::args![user_id],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
            )?;
            let Some((name, role)) = user else { return Err(InviteError::Withdrawn) };
            let role = Role::parse(&role).ok_or(InviteError::Unknown)?;
            (user_id, name, role, crate::storage::user_areas(&tx, user_id)?)
        }
        None => {
            let role = Role::parse(&role).ok_or(InviteError::Unknown)?;
            let name = user_name.unwrap_or_else(|| device_name.to_owned());
            let areas: Vec<String> = areas.split_whitespace().map(str::to_owned).collect();
            let user_id = crate::storage::insert_user(&tx, &name, role, &areas, now)?;
            (user_id, name, role, areas)
        }
    };
    let token = new_token();
    let device_id: i64 = tx.query_row(
        "INSERT INTO devices(user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        crate::args![user_id, device_name, hash_secret(&token), now],
        |r| r.get(0),
    )?;
    let identity = Identity { user_id, device_id, user_name: name, role, areas };
    let detail = match existing {
        Some(_) => format!("invite={invite_id} device={device_name} (a new device of an existing user)"),
        None => format!("invite={invite_id} device={device_name}"),
    };
    insert_audit(&tx, &identity.audit(None, "invite.redeem", detail))?;
    tx.commit()?;
    Ok(Redeemed { token, identity })
}

/// Creates an invite from `spec` (made `by` someone, for the audit log) and redeems it at once
/// for `device_name`: a device signed in without a person passing the code on (tests and
/// benchmarks).
pub fn invite_and_redeem(
    conn: &mut Conn,
    spec: &InviteSpec,
    by: Option<&str>,
    device_name: &str,
) -> Result<Redeemed, InviteError> {
    let code = create_invite(conn, spec, by)?;
    redeem(conn, &code, device_name)
}

/// A rotated token: the new token and the device it belongs to.
#[derive(Debug)]
pub struct Rotated {
    /// The new device token: shown once, kept by the device.
    pub token: String,
    /// Who the device belongs to; its `device_id` names the connections to close.
    pub identity: Identity,
}

/// Replaces a device's token with a new one (the old one stops working at once). Returns the new
/// token, or `None` when the old one is not a valid token. Connections opened with the old token
/// are the caller's to close ([`crate::relay::Relay::kick_device`]).
pub fn rotate_token(conn: &mut Conn, old_token: &str) -> Result<Option<Rotated>, StorageError> {
    let tx = conn.transaction()?;
    let Some(identity) = crate::storage::identity_by_token_hash(&tx, &hash_secret(old_token))? else {
        return Ok(None);
    };
    let token = new_token();
    tx.execute(
        "UPDATE devices SET token_hash = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        crate::args![hash_secret(&token), identity.device_id],
    )?;
    insert_audit(&tx, &identity.audit(None, "device.rotate", String::new()))?;
    // Other relays over the same database close the old token's connections too.
    tx.notify(&crate::notice::Notice::Rotated { device_id: identity.device_id, origin: tx.origin() })?;
    tx.commit()?;
    Ok(Some(Rotated { token, identity }))
}

/// Limits failed invite-code attempts per client address, so codes cannot be guessed quickly:
/// a burst of [`RedeemLimiter::BURST`], then one attempt per [`RedeemLimiter::REFILL`].
///
/// The state lives in the database (`redeem_failures`: per address, the attempts left and when
/// that was worked out), so restarting the relay does not give an address new attempts. Rows of
/// addresses that have recovered completely are deleted.
pub struct RedeemLimiter;

impl RedeemLimiter {
    /// Failed attempts allowed at once.
    pub const BURST: f64 = 5.0;
    /// Time for one more attempt to become available.
    pub const REFILL: std::time::Duration = std::time::Duration::from_secs(12);

    fn refill_ms() -> f64 {
        Self::REFILL.as_secs_f64() * 1000.0
    }

    /// The attempts an address has left at `now` (milliseconds since the epoch).
    fn left(conn: &Conn, address: &str, now: i64) -> Result<f64, StorageError> {
        let row = conn.query_opt(
            "SELECT attempts_left, updated_at FROM redeem_failures WHERE address = ?1",
            crate::args![address],
            |r| Ok((r.get::<f64>(0)?, r.get::<i64>(1)?)),
        )?;
        Ok(match row {
            None => Self::BURST,
            Some((left, at)) => (left + now.saturating_sub(at).max(0) as f64 / Self::refill_ms()).min(Self::BURST),
        })
    }

    fn store(conn: &Conn, address: &str, left: f64, now: i64) -> Result<(), StorageError> {
        conn.execute(
            "INSERT INTO redeem_failures(address, attempts_left, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(address) DO UPDATE SET attempts_left = ?2, updated_at = ?3",
            crate::args![address, left, now],
        )?;
        Ok(())
    }

    /// Takes one attempt from this address at `now` (milliseconds since the epoch), if it has one
    /// left, and forgets addresses that have recovered completely. Checking and counting are one
    /// immediate transaction, so requests arriving together cannot all pass the check before any
    /// of them is counted. Give the attempt back with [`RedeemLimiter::give_back_at`] when the
    /// code turns out valid.
    pub fn take_at(conn: &mut Conn, ip: std::net::IpAddr, now: i64) -> Result<bool, StorageError> {
        let address = ip.to_string();
        let tx = conn.transaction_immediate()?;
        let left = Self::left(&tx, &address, now)?;
        if left < 1.0 {
            return Ok(false);
        }
        Self::store(&tx, &address, left - 1.0, now)?;
        // Whoever has not failed for BURST × REFILL has every attempt back.
        let full = (Self::BURST * Self::refill_ms()) as i64;
        tx.execute("DELETE FROM redeem_failures WHERE updated_at < ?1", crate::args![now.saturating_sub(full)])?;
        tx.commit()?;
        Ok(true)
    }

    /// Gives back an attempt taken at `now` for a code that was not wrong (it was redeemed, or
    /// the request failed before the code was looked at).
    pub fn give_back_at(conn: &mut Conn, ip: std::net::IpAddr, now: i64) -> Result<(), StorageError> {
        let address = ip.to_string();
        let tx = conn.transaction_immediate()?;
        let left = (Self::left(&tx, &address, now)? + 1.0).min(Self::BURST);
        Self::store(&tx, &address, left, now)?;
        tx.commit()?;
        Ok(())
    }

    /// [`RedeemLimiter::take_at`] now.
    pub fn take(conn: &mut Conn, ip: std::net::IpAddr) -> Result<bool, StorageError> {
        Self::take_at(conn, ip, now_ms())
    }

    /// [`RedeemLimiter::give_back_at`] now.
    pub fn give_back(conn: &mut Conn, ip: std::net::IpAddr) -> Result<(), StorageError> {
        Self::give_back_at(conn, ip, now_ms())
    }
}

/// What the relay knows about a device token. Only the token's holder learns why it no longer
/// works, so that a lost phone can delete its data when it was removed on purpose and keep it
/// when the token is merely not known (rotated in another tab, a relay database replaced).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    /// The token works: the device and its user.
    Valid(Identity),
    /// The token's device was revoked by an administrator.
    Revoked,
    /// The token's device is not revoked, but its user was disabled.
    Disabled,
    /// No device has this token (never issued, replaced by a rotation, or another database).
    Unknown,
}

impl TokenStatus {
    /// `revoked`, `disabled` or `unknown` for a token that does not work; `None` for one that does.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            TokenStatus::Valid(_) => None,
            TokenStatus::Revoked => Some("revoked"),
            TokenStatus::Disabled => Some("disabled"),
            TokenStatus::Unknown => Some("unknown"),
        }
    }
}

/// Tells apart a working token, a revoked device, a disabled user and a token nobody has. A
/// revoked device of a disabled user counts as revoked: the device itself was removed.
pub fn token_status(conn: &Conn, token_hash: &str) -> Result<TokenStatus, StorageError> {
    if let Some(identity) = crate::storage::identity_by_token_hash(conn, token_hash)? {
        return Ok(TokenStatus::Valid(identity));
    }
    let row = conn.query_opt(
        "SELECT d.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL
         FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?1",
        crate::args![token_hash],
        |r| Ok((r.get::<bool>(0)?, r.get::<bool>(1)?)),
    )?;
    Ok(match row {
        Some((true, _)) => TokenStatus::Revoked,
        Some((false, true)) => TokenStatus::Disabled,
        // Not revoked nor disabled, yet no identity: nothing this token may be told about.
        Some((false, false)) | None => TokenStatus::Unknown,
    })
}

/// Revokes a device: its token stops working and the relay closes its connections. `by` says
/// who for the audit log (`cli`, or `user:ID` for an administrator in the app).
pub fn revoke_device(conn: &Conn, device_id: i64, by: &str) -> Result<bool, StorageError> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
        crate::args![now_ms(), device_id],
    )?;
    if n > 0 {
        insert_audit(
            conn,
            &AuditEntry {
                user_id: None,
                device_id: Some(device_id),
                doc_id: None,
                action: "device.revoke".into(),
                detail: format!("by={by}"),
            },
        )?;
        conn.notify(&crate::notice::Notice::Access)?;
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

    fn identity(role: Role, areas: &[&str]) -> Identity {
        Identity {
            user_id: 1,
            device_id: 1,
            user_name: "x".into(),
            role,
            areas: areas.iter().map(|a| a.parse::<Area>().unwrap().to_string()).collect(),
        }
    }

    #[test]
    fn members_only_documents_are_read_by_the_areas_members_and_admins_alone() {
        let helsinki = Scope::Restricted("municipality:091".into());
        // Helsinki is in the county of Helsinki (90) and the police department of Helsinki.
        let cells = [
            (identity(Role::Reader, &["091"]), Access::Read),
            (identity(Role::Reader, &["county:90"]), Access::Read),
            (identity(Role::Reader, &["police:helsinki"]), Access::Read),
            (identity(Role::Reader, &["167"]), Access::None),
            (identity(Role::Reader, &[]), Access::None),
            (identity(Role::Reader, &["county:10"]), Access::None),
            (identity(Role::Editor, &["091"]), Access::Write),
            (identity(Role::Editor, &["county:90"]), Access::Read),
            (identity(Role::Editor, &["853"]), Access::None),
            (identity(Role::Admin, &[]), Access::Write),
        ];
        for (who, expected) in cells {
            assert_eq!(who.access(&helsinki), expected, "{:?} {:?}", who.role, who.areas);
            // Open documents stay readable by everyone.
            assert_ne!(who.access(&Scope::Area("municipality:091".into())), Access::None);
            assert_ne!(who.access(&Scope::National), Access::None);
        }
        let (_d, db) = db();
        let ids = db
            .with(|c| {
                let open = crate::admin::empty_document(&Scope::Area("municipality:091".into())).unwrap();
                crate::admin::create_document(c, &Scope::Area("municipality:091".into()), &open)?;
                let members = crate::admin::empty_document(&helsinki).unwrap();
                let id = crate::admin::create_document(c, &helsinki, &members)?;
                let tampere = Scope::Restricted("municipality:837".into());
                let other =
                    crate::admin::create_document(c, &tampere, &crate::admin::empty_document(&tampere).unwrap())?;
                Ok((id, other))
            })
            .unwrap();
        let listed = |who: Identity| db.with(move |c| members_only_documents(c, &who)).unwrap();
        assert_eq!(
            listed(identity(Role::Reader, &["091"])),
            vec![MembersOnlyDocument { id: ids.0.to_string(), area: "municipality:091".into() }]
        );
        assert_eq!(listed(identity(Role::Reader, &["167"])), Vec::new());
        assert_eq!(listed(identity(Role::Admin, &[])).len(), 2);
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
        assert!(matches!(again, Err(InviteError::UsedUp)), "{again:?}");
        let wrong = db.with(|c| Ok(redeem(c, "AAAAA-AAAAA-AAAAA", "phone 3"))).unwrap();
        assert!(matches!(wrong, Err(InviteError::Unknown)), "{wrong:?}");
        let found = db.with(|c| identity_by_token_hash(c, &hash_secret(&r.token))).unwrap();
        assert_eq!(found.as_ref().map(|i| i.role), Some(Role::Editor));
        db.with(|c| revoke_device(c, r.identity.device_id, "cli")).unwrap();
        assert_eq!(db.with(|c| identity_by_token_hash(c, &hash_secret(&r.token))).unwrap(), None);
    }

    #[test]
    fn token_status_tells_revoked_disabled_and_unknown_apart() {
        let (_d, db) = db();
        let spec = InviteSpec {
            role: Role::Reader,
            areas: vec![],
            user_name: Some("Night shift".into()),
            valid_for_ms: 60_000,
            uses: 1,
        };
        let device = |name: &str| db.with(|c| Ok(invite_and_redeem(c, &spec, None, name))).unwrap().unwrap();
        let status = |token: &str| db.with(|c| token_status(c, &hash_secret(token))).unwrap();
        let (phone, laptop, tablet) = (device("phone"), device("laptop"), device("tablet"));
        assert_eq!(status(&phone.token), TokenStatus::Valid(phone.identity.clone()));
        assert_eq!(status(&phone.token).reason(), None);
        assert_eq!(status("never issued"), TokenStatus::Unknown);

        db.with(|c| revoke_device(c, phone.identity.device_id, "cli")).unwrap();
        assert_eq!(status(&phone.token), TokenStatus::Revoked);
        assert_eq!(status(&phone.token).reason(), Some("revoked"));

        db.with(|c| crate::admin::disable_user(c, laptop.identity.user_id, "cli")).unwrap();
        assert_eq!(status(&laptop.token), TokenStatus::Disabled);
        assert_eq!(status(&laptop.token).reason(), Some("disabled"));
        // Revoked and then its user disabled: the device was removed, so it is revoked.
        db.with(|c| revoke_device(c, tablet.identity.device_id, "cli")).unwrap();
        db.with(|c| crate::admin::disable_user(c, tablet.identity.user_id, "cli")).unwrap();
        assert_eq!(status(&tablet.token), TokenStatus::Revoked);

        // A rotated token is unknown, not revoked: the device still works with its new token.
        let other = device("desk");
        let rotated = db.with(|c| rotate_token(c, &other.token)).unwrap().unwrap();
        assert_eq!(status(&other.token), TokenStatus::Unknown);
        assert_eq!(status(&other.token).reason(), Some("unknown"));
        assert!(matches!(status(&rotated.token), TokenStatus::Valid(_)));
    }

    #[test]
    fn expired_invites_and_editors_without_areas_are_refused() {
        let (_d, db) = db();
        let spec = InviteSpec { role: Role::Reader, areas: vec![], user_name: None, valid_for_ms: 60_000, uses: 1 };
        let code =
            db.with(|c| create_invite(c, &spec, None).map_err(|e| StorageError::Invalid(e.to_string()))).unwrap();
        db.with(|c| c.execute("UPDATE invites SET expires_at = 0", &[])).unwrap();
        assert!(matches!(db.with(|c| Ok(redeem(c, &code, "p"))).unwrap(), Err(InviteError::Expired)));
        // An invite no one could ever redeem is not made at all.
        for (valid_for_ms, uses) in [(0, 1), (-1, 1), (60_000, 0)] {
            let spec = InviteSpec { role: Role::Reader, areas: vec![], user_name: None, valid_for_ms, uses };
            assert!(matches!(db.with(|c| Ok(create_invite(c, &spec, None))).unwrap(), Err(InviteError::UsesOrDays)));
        }
        let spec = InviteSpec { role: Role::Editor, areas: vec![], user_name: None, valid_for_ms: 1, uses: 1 };
        assert!(matches!(db.with(|c| Ok(create_invite(c, &spec, None))).unwrap(), Err(InviteError::EditorWithoutArea)));
    }

    #[test]
    fn an_invite_for_an_existing_user_adds_a_device() {
        let (_d, db) = db();
        let spec = InviteSpec {
            role: Role::Editor,
            areas: vec!["091".parse().unwrap(), "municipality:091".parse().unwrap()],
            user_name: Some("Helsinki editor".into()),
            valid_for_ms: 60_000,
            uses: 1,
        };
        let first = db.with(|c| Ok(invite_and_redeem(c, &spec, None, "phone"))).unwrap().unwrap();
        assert_eq!(first.identity.areas, vec!["municipality:091"], "an area named twice is stored once");
        let user = first.identity.user_id;
        let code = db.with(|c| Ok(create_device_invite(c, user, 60_000, 1, None))).unwrap().unwrap();
        let second = db.with(|c| Ok(redeem(c, &code, "laptop"))).unwrap().unwrap();
        assert_eq!(second.identity.user_id, user);
        assert_ne!(second.identity.device_id, first.identity.device_id);
        assert_eq!(second.identity.user_name, "Helsinki editor");
        assert_eq!(second.identity.role, Role::Editor);
        assert_eq!(second.identity.areas, vec!["municipality:091"]);

        assert!(matches!(
            db.with(|c| Ok(create_device_invite(c, 999, 60_000, 1, None))).unwrap(),
            Err(InviteError::NoSuchUser(999))
        ));
        // Disabled after the invite was made: the invite no longer works; no new invites either.
        let code = db.with(|c| Ok(create_device_invite(c, user, 60_000, 1, None))).unwrap().unwrap();
        db.with(|c| crate::admin::disable_user(c, user, "cli")).unwrap();
        assert!(matches!(db.with(|c| Ok(redeem(c, &code, "tablet"))).unwrap(), Err(InviteError::Withdrawn)));
        assert!(matches!(
            db.with(|c| Ok(create_device_invite(c, user, 60_000, 1, None))).unwrap(),
            Err(InviteError::UserDisabled(_))
        ));
    }

    #[test]
    fn failed_codes_are_limited_per_address_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite");
        let db = Db::open(&path).unwrap();
        let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap();
        let other: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        let t0 = 1_000_000;
        for _ in 0..5 {
            assert!(db.with(|c| RedeemLimiter::take_at(c, ip, t0)).unwrap());
        }
        assert!(!db.with(|c| RedeemLimiter::take_at(c, ip, t0)).unwrap());
        assert!(db.with(|c| RedeemLimiter::take_at(c, other, t0)).unwrap(), "other addresses are not limited");
        // A valid code gives its attempt back.
        db.with(|c| RedeemLimiter::give_back_at(c, other, t0)).unwrap();
        // Reopening the database (a restart) keeps the limit.
        drop(db);
        let db = Db::open(&path).unwrap();
        assert!(!db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 11_000)).unwrap());
        // One attempt every 12 seconds.
        assert!(db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 12_000)).unwrap());
        assert!(!db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 13_000)).unwrap());
        // An address that has recovered completely is forgotten when someone else tries.
        assert!(db.with(|c| RedeemLimiter::take_at(c, other, t0 + 200_000)).unwrap());
        let rows: Vec<String> =
            db.with(|c| c.query_map("SELECT address FROM redeem_failures", &[], |r| r.get(0))).unwrap();
        assert_eq!(rows, vec![other.to_string()]);
        assert!(db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 200_000)).unwrap());
        // Given back, an attempt never takes an address over the burst.
        for _ in 0..3 {
            db.with(|c| RedeemLimiter::give_back_at(c, ip, t0 + 200_000)).unwrap();
        }
        for _ in 0..5 {
            assert!(db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 200_000)).unwrap());
        }
        assert!(!db.with(|c| RedeemLimiter::take_at(c, ip, t0 + 200_000)).unwrap());
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

    #[test]
    fn authors_are_stored_with_their_chunk() {
        use crate::storage::{Append, Authorship, append_batch, change_authors, load_doc};
        use contactpoint_protocol::DocumentId;
        use contactpoint_protocol::automerge::ChangeHash;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        let doc = DocumentId::from_random_bytes([2; 16]);
        let spec = InviteSpec {
            role: Role::Editor,
            areas: vec!["091".parse().unwrap()],
            user_name: Some("Helsinki editor".into()),
            valid_for_ms: 60_000,
            uses: 1,
        };
        let identity = db.with(|c| Ok(invite_and_redeem(c, &spec, None, "work phone"))).unwrap().unwrap().identity;
        let (h1, h2) = (ChangeHash([1; 32]), ChangeHash([2; 32]));
        let append = |hashes: Vec<ChangeHash>, at| Append {
            doc,
            bytes: b"inc".to_vec(),
            audit: identity.audit(Some(doc.to_string()), "sync.write", String::new()),
            authors: Some(Authorship {
                user_id: identity.user_id,
                device_id: identity.device_id,
                accepted_at: at,
                hashes,
            }),
        };
        db.with(|c| {
            append_batch(c, &[append(vec![h2], 20), append(vec![h1], 10)], Some((&doc, &Scope::Unlisted)))?;
            // The same change delivered again keeps its first author and time.
            append_batch(c, &[append(vec![h1], 30)], None)?;
            let listed = change_authors(c, &doc)?;
            assert_eq!(listed.iter().map(|a| a.hash.clone()).collect::<Vec<_>>(), vec![h1.to_string(), h2.to_string()]);
            assert_eq!(listed[0].accepted_at, 10);
            assert_eq!(listed[0].user_name, "Helsinki editor");
            assert_eq!(listed[0].device_name, "work phone");
            assert_eq!(load_doc(c, &doc)?.unwrap().seqs.len(), 3, "every chunk is stored");
            Ok(())
        })
        .unwrap();
    }
}
