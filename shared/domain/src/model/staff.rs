//! The people who run a business's program from the dashboard: staff members with their own
//! sign-in, their invitations and their sessions.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::values::error::ParseError;
use crate::values::ids::{BusinessId, StaffId};
use crate::values::password::PasswordHash;
use crate::values::person::{Email, PersonName};
use crate::values::secrets::KeyHash;

/// How long an invite link can be used.
pub const INVITE_VALID: Duration = Duration::hours(72);
/// A session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::hours(12);
/// A session's last use is written at most this often (not on every request).
pub const SESSION_TOUCH: Duration = Duration::minutes(5);

/// What a staff member may do: owners also manage staff and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Staff,
}

impl Role {
    pub const ALL: [&'static str; 2] = ["owner", "staff"];

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "owner" => Ok(Self::Owner),
            "staff" => Ok(Self::Staff),
            _ => Err(ParseError::new("must be owner or staff")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Staff => "staff",
        }
    }
}

/// An invite link not yet used: the hash of its token and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub token: KeyHash,
    pub expires_at: DateTime<Utc>,
}

/// A person with a sign-in to one business's dashboard. The email is their sign-in, unique
/// across the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: StaffId,
    pub business_id: BusinessId,
    pub email: Email,
    pub name: PersonName,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// Who added them: the audit name of an owner, or `admin key`.
    pub added_by: String,
    /// Set from the invite link; until then they cannot sign in.
    pub password: Option<PasswordHash>,
    pub invite: Option<Invite>,
}

impl StaffMember {
    /// How they appear in audit trails: "Olivia (owner)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name.as_str(), self.role.as_str())
    }
}

/// A signed-in browser: stored under the hash of the cookie's secret, with the member it
/// belongs to (removing the member ends it) and its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token: KeyHash,
    pub business_id: BusinessId,
    pub staff_id: StaffId,
    /// The synchronizer token every state-changing request of this session must carry.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub seen_at: DateTime<Utc>,
}

impl Session {
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.seen_at + SESSION_IDLE
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at()
    }
}

/// The signed-in person behind a dashboard request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub business_id: BusinessId,
    pub staff_id: StaffId,
    pub name: PersonName,
    pub email: Email,
    pub role: Role,
    pub csrf: String,
}

impl Actor {
    /// How they appear in audit trails: "Olivia (owner)".
    pub fn label(&self) -> String {
        format!("{} ({})", self.name.as_str(), self.role.as_str())
    }

    pub fn is_owner(&self) -> bool {
        self.role == Role::Owner
    }
}

/// What a session cookie carries: whose session it is (so the session and its member are read
/// together) and its secret. Its text is `{business}.{staff}.{secret}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    pub business_id: BusinessId,
    pub staff_id: StaffId,
    pub secret: String,
}

impl SessionCookie {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.splitn(3, '.');
        let business_id = BusinessId::parse(parts.next()?).ok()?;
        let staff_id = StaffId::parse(parts.next()?).ok()?;
        let secret = parts.next()?;
        (secret.len() >= 32 && secret.len() <= 64).then(|| Self {
            business_id,
            staff_id,
            secret: secret.to_owned(),
        })
    }

    /// The key the session is stored under (the whole cookie, hashed).
    pub fn token(&self) -> KeyHash {
        KeyHash::of(&self.value())
    }

    pub fn value(&self) -> String {
        format!("{}.{}.{}", self.business_id, self.staff_id, self.secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::secrets::random_token;

    #[test]
    fn a_cookie_reads_back_and_anything_else_is_no_cookie() {
        let cookie = SessionCookie {
            business_id: BusinessId::parse("acme").unwrap(),
            staff_id: StaffId::generate(),
            secret: random_token(),
        };
        assert_eq!(SessionCookie::parse(&cookie.value()), Some(cookie.clone()));
        for bad in [
            "",
            "acme",
            "acme.01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "acme.01ARZ3NDEKTSV4RRFFQ69G5FAV.short",
            &format!("Acme.{}.{}", cookie.staff_id, cookie.secret),
            &format!("acme.notaulid.{}", cookie.secret),
        ] {
            assert_eq!(SessionCookie::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn roles_parse_and_sessions_idle_out_after_twelve_hours() {
        assert_eq!(Role::parse("owner"), Ok(Role::Owner));
        assert!(Role::parse("admin").is_err());
        let now = Utc::now();
        let session = Session {
            token: KeyHash::of("x"),
            business_id: BusinessId::parse("acme").unwrap(),
            staff_id: StaffId::generate(),
            csrf: random_token(),
            created_at: now - Duration::days(3),
            seen_at: now,
        };
        assert!(session.is_live(now + Duration::hours(11)));
        assert!(!session.is_live(now + Duration::hours(12)));
    }
}
