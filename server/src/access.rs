//! Who may do what to which document: a document's scope, a user's role, and the identity behind
//! a connection with the access it has. Plain types without I/O, shared by storage, the
//! relay's gate and the administration commands.

use contactpoint_directory::Area;
use contactpoint_protocol::Access;

/// Where a document belongs, which decides who may read and write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The catalogue of documents. Admins write.
    Index,
    /// National services and guidance templates. Admins write.
    National,
    /// One area's directory. Its editors and admins write.
    Area(String),
    /// One area's members-only directory. Only the area's members (users whose areas cover it)
    /// and admins read it; its editors and admins write. Not in the catalogue.
    Restricted(String),
    /// A document created by an admin through sync, not yet catalogued. Admins write.
    Unlisted,
}

impl Scope {
    /// The text stored in the `documents.scope` column.
    pub fn as_db(&self) -> String {
        match self {
            Scope::Index => "index".into(),
            Scope::National => "national".into(),
            Scope::Area(a) => format!("area:{a}"),
            Scope::Restricted(a) => format!("restricted:{a}"),
            Scope::Unlisted => "unlisted".into(),
        }
    }

    /// Parses the stored text; unknown values are treated as admin-only.
    pub fn from_db(s: &str) -> Scope {
        match s {
            "index" => Scope::Index,
            "national" => Scope::National,
            _ => match (s.strip_prefix("area:"), s.strip_prefix("restricted:")) {
                (Some(a), _) => Scope::Area(a.to_owned()),
                (_, Some(a)) => Scope::Restricted(a.to_owned()),
                _ => Scope::Unlisted,
            },
        }
    }
}

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
    /// Everyone signed in reads every open document; an area's members-only document is read
    /// only by the area's members and admins. Writing depends on role and area.
    pub fn access(&self, scope: &Scope) -> Access {
        let write = match (self.role, scope) {
            (Role::Admin, _) => true,
            (Role::Editor, Scope::Area(a) | Scope::Restricted(a)) => self.areas.iter().any(|x| x == a),
            _ => false,
        };
        if write {
            return Access::Write;
        }
        match scope {
            Scope::Restricted(a) if !self.is_member_of(a) => Access::None,
            _ => Access::Read,
        }
    }

    /// Whether the user is a member of an area: one of the user's areas is that area or contains
    /// it (a wellbeing county or police department containing a municipality). Admins are
    /// members everywhere.
    pub fn is_member_of(&self, area: &str) -> bool {
        if self.role == Role::Admin {
            return true;
        }
        let Ok(area) = area.parse::<Area>() else { return false };
        self.areas.iter().filter_map(|a| a.parse::<Area>().ok()).any(|mine| mine.covers(&area))
    }

    /// Whether a `sync` for an unknown document may create it.
    pub fn may_create(&self) -> bool {
        self.role == Role::Admin
    }
}
