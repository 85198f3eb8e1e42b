//! Staff members (`STAFF#`), their sign-in by email (unique across the deployment), their
//! invite links and sessions (both by the hash of their token, gone by TTL).

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::model::staff::{Invite, Role, Session, StaffMember};
use vouch_domain::ports::{Staff, Written};
use vouch_domain::values::ids::{BusinessId, StaffId};
use vouch_domain::values::password::PasswordHash;
use vouch_domain::values::person::{Email, PersonName};
use vouch_domain::values::secrets::KeyHash;

use super::tx::{Role as TxRole, Tx};
use super::{DynamoStore, keys, n, primary_key, s, written};

#[derive(Serialize, Deserialize)]
struct StaffItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    business_id: BusinessId,
    staff_id: StaffId,
    email: Email,
    name: PersonName,
    role: Role,
    created_at: DateTime<Utc>,
    added_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<PasswordHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    invite_token: Option<KeyHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    invite_expires_at: Option<DateTime<Utc>>,
}

impl StaffItem {
    fn of(member: &StaffMember) -> Self {
        let (pk, sk) = keys::staff(&member.business_id, member.id);
        Self {
            pk,
            sk,
            kind: "staff".into(),
            business_id: member.business_id.clone(),
            staff_id: member.id,
            email: member.email.clone(),
            name: member.name.clone(),
            role: member.role,
            created_at: member.created_at,
            added_by: member.added_by.clone(),
            password: member.password.clone(),
            invite_token: member.invite.as_ref().map(|i| i.token.clone()),
            invite_expires_at: member.invite.as_ref().map(|i| i.expires_at),
        }
    }

    fn into_domain(self) -> StaffMember {
        let invite = match (self.invite_token, self.invite_expires_at) {
            (Some(token), Some(expires_at)) => Some(Invite { token, expires_at }),
            _ => None,
        };
        StaffMember {
            id: self.staff_id,
            business_id: self.business_id,
            email: self.email,
            name: self.name,
            role: self.role,
            created_at: self.created_at,
            added_by: self.added_by,
            password: self.password,
            invite,
        }
    }
}

/// Where a sign-in or an invite leads: a member of a business.
#[derive(Serialize, Deserialize)]
struct PointerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    business_id: BusinessId,
    staff_id: StaffId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct SessionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    token: KeyHash,
    business_id: BusinessId,
    staff_id: StaffId,
    csrf: String,
    created_at: DateTime<Utc>,
    seen_at: DateTime<Utc>,
    /// TTL: when the session idles out (the code checks `seen_at` as well).
    expires_at: i64,
}

impl DynamoStore {
    async fn member_at(&self, key: keys::Key) -> anyhow::Result<Option<StaffMember>> {
        let Some(pointer) = self.get_as::<PointerItem>(key, true).await? else {
            return Ok(None);
        };
        self.staff_member(&pointer.business_id, pointer.staff_id)
            .await
    }
}

#[async_trait]
impl Staff for DynamoStore {
    async fn add_staff(&self, member: &StaffMember) -> anyhow::Result<Written> {
        let pointer = |(pk, sk): keys::Key, kind: &str, expires_at| PointerItem {
            pk,
            sk,
            kind: kind.into(),
            business_id: member.business_id.clone(),
            staff_id: member.id,
            expires_at,
        };
        let mut tx = Tx::new(self.table());
        tx.put_new(to_item(StaffItem::of(member))?, TxRole::Plain)?;
        tx.put_new(
            to_item(pointer(keys::sign_in(&member.email), "sign_in", None))?,
            TxRole::Plain,
        )?;
        if let Some(invite) = &member.invite {
            let expires = Some(invite.expires_at.timestamp());
            tx.put_new(
                to_item(pointer(keys::invite(&invite.token), "invite", expires))?,
                TxRole::Plain,
            )?;
        }
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn staff(&self, business: &BusinessId) -> anyhow::Result<Vec<StaffMember>> {
        let (pk, _) = keys::staff(business, StaffId::MIN);
        let items = self
            .query_prefix(pk, keys::STAFF_PREFIX.to_owned(), true, None)
            .await?;
        items
            .into_iter()
            .map(|item| Ok(from_item::<_, StaffItem>(item)?.into_domain()))
            .collect()
    }

    async fn staff_member(
        &self,
        business: &BusinessId,
        id: StaffId,
    ) -> anyhow::Result<Option<StaffMember>> {
        let item: Option<StaffItem> = self.get_as(keys::staff(business, id), true).await?;
        Ok(item.map(StaffItem::into_domain))
    }

    async fn staff_by_email(&self, email: &Email) -> anyhow::Result<Option<StaffMember>> {
        self.member_at(keys::sign_in(email)).await
    }

    async fn invited(&self, invite: &KeyHash) -> anyhow::Result<Option<StaffMember>> {
        self.member_at(keys::invite(invite)).await
    }

    async fn accept_invite(
        &self,
        member: &StaffMember,
        invite: &KeyHash,
    ) -> anyhow::Result<Written> {
        let mut tx = Tx::new(self.table());
        tx.put(
            to_item(StaffItem::of(member))?,
            Some((
                "invite_token = :invite",
                vec![(":invite", s(invite.as_str()))],
            )),
            TxRole::Changed,
        )?;
        tx.delete(keys::invite(invite))?;
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }

    async fn remove_staff(&self, member: &StaffMember) -> anyhow::Result<()> {
        let mut tx = Tx::new(self.table());
        tx.delete(keys::staff(&member.business_id, member.id))?;
        tx.delete(keys::sign_in(&member.email))?;
        if let Some(invite) = &member.invite {
            tx.delete(keys::invite(&invite.token))?;
        }
        tx.send(self)
            .await?
            .map_err(|refusal| anyhow::anyhow!("removing a staff member: {refusal:?}"))
    }

    async fn open_session(&self, session: &Session) -> anyhow::Result<()> {
        let (pk, sk) = keys::session(&session.token);
        let item = to_item(SessionItem {
            pk,
            sk,
            kind: "session".into(),
            token: session.token.clone(),
            business_id: session.business_id.clone(),
            staff_id: session.staff_id,
            csrf: session.csrf.clone(),
            created_at: session.created_at,
            seen_at: session.seen_at,
            expires_at: session.expires_at().timestamp(),
        })?;
        self.dynamodb()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .context("PutItem (session)")?;
        Ok(())
    }

    async fn session(
        &self,
        business: &BusinessId,
        staff: StaffId,
        token: &KeyHash,
    ) -> anyhow::Result<Option<(Session, Option<StaffMember>)>> {
        let (session_key, member_key) = (keys::session(token), keys::staff(business, staff));
        let mut found = self
            .batch_get(vec![session_key.clone(), member_key.clone()])
            .await?;
        let Some(item) = found.remove(&session_key) else {
            return Ok(None);
        };
        let item: SessionItem = from_item(item)?;
        let session = Session {
            token: item.token,
            business_id: item.business_id,
            staff_id: item.staff_id,
            csrf: item.csrf,
            created_at: item.created_at,
            seen_at: item.seen_at,
        };
        let member = match found.remove(&member_key) {
            Some(item) => Some(from_item::<_, StaffItem>(item)?.into_domain()),
            None => None,
        };
        Ok(Some((session, member)))
    }

    async fn touch_session(&self, token: &KeyHash, seen_at: DateTime<Utc>) -> anyhow::Result<()> {
        let expires = seen_at + vouch_domain::model::staff::SESSION_IDLE;
        let result = self
            .dynamodb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::session(token))))
            .update_expression("SET seen_at = :seen, expires_at = :expires")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":seen", serde_dynamo::to_attribute_value(seen_at)?)
            .expression_attribute_values(":expires", n(expires.timestamp()))
            .send()
            .await;
        // A session closed meanwhile stays closed: the refusal is the answer.
        written(result, "UpdateItem (session)")?;
        Ok(())
    }

    async fn close_session(&self, token: &KeyHash) -> anyhow::Result<()> {
        self.dynamodb()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(primary_key(keys::session(token))))
            .send()
            .await
            .context("DeleteItem (session)")?;
        Ok(())
    }
}
