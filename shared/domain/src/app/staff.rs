//! Staff sign-in: members added by the admin key or an owner, invite links that set a
//! password, sign-in with limits on failures, sessions that idle out and end with their member.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::Vouch;
use crate::model::staff::{
    Actor, INVITE_VALID, Invite, Role, SESSION_TOUCH, Session, SessionCookie, StaffMember,
};
use crate::ports::{Rate, RateKey, Written};
use crate::values::error::{Error, Result};
use crate::values::ids::{BusinessId, StaffId};
use crate::values::password::{Password, PasswordHash};
use crate::values::person::{Email, PersonName};
use crate::values::secrets::{KeyHash, random_token};

/// Failed sign-ins are counted in windows of this many seconds …
pub const SIGN_IN_WINDOW_SECS: u64 = 15 * 60;
/// … and refused, with `Retry-After`, after this many from one address …
pub const SIGN_IN_FAILURES_PER_ADDRESS: u32 = 20;
/// … or this many to one account.
pub const SIGN_IN_FAILURES_PER_ACCOUNT: u32 = 5;

/// A member just added, with the token of their invite link (shown once).
#[derive(Debug)]
pub struct Invited {
    pub member: StaffMember,
    pub token: String,
}

/// A browser just signed in: the cookie to set and who it is.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: SessionCookie,
    pub actor: Actor,
}

impl Vouch {
    /// Adds a member to `business` with a 72-hour invite link; `by` is who added them, for the
    /// audit. 422 with the field for a bad email, name or role; 409 if the email has a sign-in.
    pub async fn add_staff(
        &self,
        business: &BusinessId,
        by: &str,
        email: &str,
        name: &str,
        role: &str,
    ) -> Result<Invited> {
        let mut fields = BTreeMap::new();
        let email = Email::parse(email).map_err(|e| fields.insert("email".into(), e.to_string()));
        let name = PersonName::parse(name).map_err(|e| fields.insert("name".into(), e.to_string()));
        let role = Role::parse(role).map_err(|e| fields.insert("role".into(), e.to_string()));
        let (Ok(email), Ok(name), Ok(role)) = (email, name, role) else {
            return Err(Error::Validation(fields));
        };
        let now = self.now();
        let token = random_token();
        let member = StaffMember {
            id: StaffId::generate(),
            business_id: business.clone(),
            email,
            name,
            role,
            created_at: now,
            added_by: by.to_owned(),
            password: None,
            invite: Some(Invite {
                token: KeyHash::of(&token),
                expires_at: now + INVITE_VALID,
            }),
        };
        match self.ports.staff.add_staff(&member).await? {
            Written::Applied => Ok(Invited { member, token }),
            Written::Refused => Err(Error::Conflict {
                code: "email_taken",
                message: "this email already has a sign-in".into(),
            }),
        }
    }

    pub async fn staff_list(&self, business: &BusinessId) -> Result<Vec<StaffMember>> {
        Ok(self.ports.staff.staff(business).await?)
    }

    /// Removes a member; their sessions end at once. An owner cannot remove themselves (so a
    /// business is not left without anyone to manage it by accident).
    pub async fn remove_staff(
        &self,
        business: &BusinessId,
        id: &str,
        by: Option<&Actor>,
    ) -> Result<()> {
        let id = StaffId::parse(id).map_err(|_| Error::NotFound("staff member"))?;
        if by.is_some_and(|actor| actor.staff_id == id) {
            return Err(Error::Conflict {
                code: "own_account",
                message: "you cannot remove yourself; ask another owner".into(),
            });
        }
        let member = self
            .ports
            .staff
            .staff_member(business, id)
            .await?
            .ok_or(Error::NotFound("staff member"))?;
        self.ports.staff.remove_staff(&member).await?;
        Ok(())
    }

    /// The member an invite link is for, while it can be used.
    pub async fn invitation(&self, token: &str) -> Result<StaffMember> {
        let member = self
            .ports
            .staff
            .invited(&KeyHash::of(token))
            .await?
            .ok_or(Error::NotFound("invite"))?;
        let live = member
            .invite
            .as_ref()
            .is_some_and(|invite| self.now() < invite.expires_at);
        if live {
            Ok(member)
        } else {
            Err(Error::NotFound("invite"))
        }
    }

    /// Sets the member's password from their invite link (once) and signs them in.
    pub async fn accept_invite(&self, token: &str, password: &str) -> Result<SignedIn> {
        let password =
            Password::parse(password).map_err(|e| Error::field("password", e.to_string()))?;
        let mut member = self.invitation(token).await?;
        member.password = Some(password.hash()?);
        member.invite = None;
        match self
            .ports
            .staff
            .accept_invite(&member, &KeyHash::of(token))
            .await?
        {
            Written::Applied => self.open_session(&member).await,
            Written::Refused => Err(Error::NotFound("invite")),
        }
    }

    /// Signs in with an email and password. A wrong pair is 401 (the same for an unknown
    /// email, checked at the same cost); too many failures from the address or to the account
    /// in a window are 429 until it ends.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> Result<SignedIn> {
        let now = self.now();
        let email = Email::parse(email).ok();
        let account =
            RateKey::SignInAccount(KeyHash::of(email.as_ref().map_or("", |e| e.as_str())));
        let address = ip.map(|ip| RateKey::SignInAddress(self.ip_hasher().hash(ip)));
        let limits = [
            (Some(&account), SIGN_IN_FAILURES_PER_ACCOUNT),
            (address.as_ref(), SIGN_IN_FAILURES_PER_ADDRESS),
        ];
        for (key, limit) in limits {
            if let Some(key) = key
                && self.ports.rates.hits(key, SIGN_IN_WINDOW_SECS, now).await? >= limit
            {
                let (_, left) = crate::ports::window(now, SIGN_IN_WINDOW_SECS);
                return Err(Error::RateLimited {
                    retry_after_secs: left,
                });
            }
        }
        let member = match &email {
            Some(email) => self.ports.staff.staff_by_email(email).await?,
            None => None,
        };
        let hash = member
            .as_ref()
            .and_then(|m| m.password.as_ref())
            .unwrap_or(PasswordHash::decoy());
        let matches = hash.verify(password);
        match member {
            Some(member) if matches && member.password.is_some() => {
                self.open_session(&member).await
            }
            _ => {
                for (key, limit) in limits {
                    if let Some(key) = key
                        && let Rate::Limited { retry_after_secs } = self
                            .ports
                            .rates
                            .hit(key, SIGN_IN_WINDOW_SECS, limit, now)
                            .await?
                    {
                        tracing::warn!(retry_after_secs, "sign-ins limited");
                    }
                }
                Err(Error::Unauthenticated)
            }
        }
    }

    async fn open_session(&self, member: &StaffMember) -> Result<SignedIn> {
        let now = self.now();
        let cookie = SessionCookie {
            business_id: member.business_id.clone(),
            staff_id: member.id,
            secret: random_token(),
        };
        let session = Session {
            token: cookie.token(),
            business_id: member.business_id.clone(),
            staff_id: member.id,
            csrf: random_token(),
            created_at: now,
            seen_at: now,
        };
        self.ports.staff.open_session(&session).await?;
        Ok(SignedIn {
            actor: actor(member, &session),
            cookie,
        })
    }

    /// Who a session cookie belongs to, while the session is live and its member exists;
    /// its idle expiry moves on (written at most every few minutes).
    pub async fn actor(&self, cookie: &str) -> Result<Option<Actor>> {
        let Some(cookie) = SessionCookie::parse(cookie) else {
            return Ok(None);
        };
        let token = cookie.token();
        let Some((session, Some(member))) = self
            .ports
            .staff
            .session(&cookie.business_id, cookie.staff_id, &token)
            .await?
        else {
            return Ok(None);
        };
        let now = self.now();
        let ours = session.business_id == member.business_id && session.staff_id == member.id;
        if !ours || !session.is_live(now) {
            return Ok(None);
        }
        if now - session.seen_at >= SESSION_TOUCH {
            self.ports.staff.touch_session(&token, now).await?;
        }
        Ok(Some(actor(&member, &session)))
    }

    /// Ends the session of this cookie (nothing if there is none).
    pub async fn sign_out(&self, cookie: &str) -> Result<()> {
        if let Some(cookie) = SessionCookie::parse(cookie) {
            self.ports.staff.close_session(&cookie.token()).await?;
        }
        Ok(())
    }
}

fn actor(member: &StaffMember, session: &Session) -> Actor {
    Actor {
        business_id: member.business_id.clone(),
        staff_id: member.id,
        name: member.name.clone(),
        email: member.email.clone(),
        role: member.role,
        csrf: session.csrf.clone(),
    }
}
