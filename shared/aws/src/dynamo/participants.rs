//! Participants (their code and counters), the codes that find them across businesses, and the
//! clicks on their links.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Update;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use vouch_domain::decide::Plan;
use vouch_domain::model::click::{Channel, Click};
use vouch_domain::model::participant::{
    Participant, ParticipantSort, ReengageDue, Referrer, Stats,
};
use vouch_domain::model::report::Tally;
use vouch_domain::model::reward::RewardOverride;
use vouch_domain::ports::{Clicks, Page, Participants, Position, Written};
use vouch_domain::values::code::ReferralCode;
use vouch_domain::values::ids::{BusinessId, ClickId, CustomerId};
use vouch_domain::values::person::{PersonName, Phone};
use vouch_domain::values::secrets::IpHash;

use super::table::{GSI1, GSI2, Index};
use super::tx::{Role, Tx};
use super::{DynamoStore, Item, keys, n, primary_key, reports, s, to_attr, written};

#[derive(Serialize, Deserialize)]
pub(crate) struct ParticipantItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    #[serde(rename = "GSI2PK")]
    gsi2pk: String,
    #[serde(rename = "GSI2SK")]
    gsi2sk: String,
    kind: String,
    business_id: BusinessId,
    customer_id: CustomerId,
    code: ReferralCode,
    first_name: PersonName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_name: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<Phone>,
    enrolled_at: DateTime<Utc>,
    #[serde(default)]
    clicks: u64,
    #[serde(default)]
    clicks_link: u64,
    #[serde(default)]
    clicks_sms: u64,
    #[serde(default)]
    clicks_qr: u64,
    #[serde(default)]
    clicks_social: u64,
    #[serde(default)]
    clicks_email: u64,
    #[serde(default)]
    clicks_print: u64,
    #[serde(default)]
    /// Signed: counters move by `ADD`; a count below zero would be a bug, never a failed read.
    referrals: i64,
    #[serde(default)]
    closed: i64,
    #[serde(default)]
    rewards_earned_cents: i64,
    #[serde(default)]
    rewards_pending_cents: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rewarded_year: Option<i32>,
    #[serde(default)]
    rewarded_in_year: u32,
    /// When each closed referral qualified (the leaderboard's source).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    qualified_times: Vec<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vip_since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reward_override: Option<RewardOverride>,
}

impl ParticipantItem {
    pub(crate) fn from_domain(p: &Participant) -> Self {
        let by = |channel| {
            p.stats
                .clicks_by_channel
                .get(&channel)
                .copied()
                .unwrap_or(0)
        };
        Self {
            pk: keys::business_pk(&p.business_id),
            sk: keys::participant_sk(&p.customer_id),
            gsi1pk: keys::participants_pk(&p.business_id),
            gsi1sk: keys::participant_index_sk(
                &keys::enrolled_position(p.enrolled_at),
                &p.customer_id,
            ),
            gsi2pk: keys::participants_pk(&p.business_id),
            gsi2sk: keys::participant_index_sk(
                &keys::closed_position(p.stats.closed),
                &p.customer_id,
            ),
            kind: "participant".into(),
            business_id: p.business_id.clone(),
            customer_id: p.customer_id.clone(),
            code: p.code.clone(),
            first_name: p.first_name.clone(),
            last_name: p.last_name.clone(),
            phone: p.phone.clone(),
            enrolled_at: p.enrolled_at,
            clicks: p.stats.clicks,
            clicks_link: by(Channel::Link),
            clicks_sms: by(Channel::Sms),
            clicks_qr: by(Channel::Qr),
            clicks_social: by(Channel::Social),
            clicks_email: by(Channel::Email),
            clicks_print: by(Channel::Print),
            referrals: i64::try_from(p.stats.referrals).unwrap_or(i64::MAX),
            closed: i64::try_from(p.stats.closed).unwrap_or(i64::MAX),
            rewards_earned_cents: p.stats.rewards_earned_cents,
            rewards_pending_cents: p.stats.rewards_pending_cents,
            rewarded_year: p.stats.rewarded_year,
            rewarded_in_year: p.stats.rewarded_in_year,
            qualified_times: p.stats.qualified_times.clone(),
            vip_since: p.stats.vip_since,
            reward_override: p.reward_override.clone(),
        }
    }

    fn into_domain(self) -> Participant {
        let clicks_by_channel = [
            (Channel::Link, self.clicks_link),
            (Channel::Sms, self.clicks_sms),
            (Channel::Qr, self.clicks_qr),
            (Channel::Social, self.clicks_social),
            (Channel::Email, self.clicks_email),
            (Channel::Print, self.clicks_print),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
        Participant {
            business_id: self.business_id,
            customer_id: self.customer_id,
            code: self.code,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            enrolled_at: self.enrolled_at,
            stats: Stats {
                clicks: self.clicks,
                clicks_by_channel,
                referrals: u64::try_from(self.referrals).unwrap_or(0),
                closed: u64::try_from(self.closed).unwrap_or(0),
                rewards_earned_cents: self.rewards_earned_cents,
                rewards_pending_cents: self.rewards_pending_cents,
                rewarded_year: self.rewarded_year,
                rewarded_in_year: self.rewarded_in_year,
                qualified_times: self.qualified_times,
                vip_since: self.vip_since,
            },
            reward_override: self.reward_override,
        }
    }
}

/// A participant as stored.
pub(crate) fn participant_from_item(item: Item) -> anyhow::Result<Participant> {
    Ok(from_item::<_, ParticipantItem>(item)?.into_domain())
}

/// Notes the participant records among `found` (as read, for conditional counter updates).
pub(crate) fn note_participants(
    pk: &str,
    found: &HashMap<keys::Key, Item>,
    into: &mut HashMap<CustomerId, Participant>,
) -> anyhow::Result<()> {
    for ((p, sk), item) in found {
        if p == pk && keys::is_participant_sk(sk) {
            let participant = participant_from_item(item.clone())?;
            into.insert(participant.customer_id.clone(), participant);
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CodeItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    #[serde(flatten)]
    pub(crate) referrer: Referrer,
}

/// The code item claiming a participant's code across all businesses.
pub(crate) fn code_item(participant: &Participant) -> anyhow::Result<Item> {
    let (pk, sk) = keys::code(&participant.code);
    Ok(to_item(CodeItem {
        pk,
        sk,
        kind: "code".into(),
        referrer: participant.referrer(),
    })?)
}

#[derive(Serialize, Deserialize)]
struct ClickItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    kind: String,
    click_id: ClickId,
    business_id: BusinessId,
    customer_id: CustomerId,
    code: ReferralCode,
    channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip_hash: Option<IpHash>,
    at: DateTime<Utc>,
    /// Epoch seconds, for DynamoDB's TTL.
    expires_at: i64,
}

pub(crate) fn click_from_item(item: Item) -> anyhow::Result<Click> {
    let item: ClickItem = from_item(item)?;
    Ok(Click {
        id: item.click_id,
        business_id: item.business_id,
        customer_id: item.customer_id,
        code: item.code,
        channel: item.channel,
        ip_hash: item.ip_hash,
        at: item.at,
        expires_at: DateTime::from_timestamp(item.expires_at, 0).unwrap_or(item.at),
    })
}

/// The participant's counter of clicks from one channel.
fn channel_counter(channel: Channel) -> String {
    format!("clicks_{}", channel.as_str())
}

/// Adds a newly enrolled participant and the code that finds them; the code is unique across
/// all businesses.
pub(crate) fn commit_enrolment(tx: &mut Tx<'_>, plan: &Plan) -> anyhow::Result<()> {
    if let Some(participant) = &plan.participant {
        tx.put_new(
            to_item(ParticipantItem::from_domain(participant))?,
            Role::Changed,
        )?;
        tx.put_new(code_item(participant)?, Role::Changed)?;
    }
    Ok(())
}

/// Adds a plan's changes to participants' totals, each conditional on what was read where it
/// moves an index key or a yearly count.
pub(crate) fn commit_stats(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    let pk = keys::business_pk(business);
    for delta in &plan.stats {
        let mut add = vec![
            "referrals :referrals",
            "rewards_earned_cents :earned",
            "rewards_pending_cents :pending",
        ];
        let mut set = Vec::new();
        let mut conditions = vec!["attribute_exists(PK)".to_owned()];
        let mut update = Update::builder()
            .set_key(Some(primary_key((
                pk.clone(),
                keys::participant_sk(&delta.customer_id),
            ))))
            .expression_attribute_values(":referrals", n(delta.referrals))
            .expression_attribute_values(":earned", n(delta.earned_cents))
            .expression_attribute_values(":pending", n(delta.pending_cents));
        match delta.closed_was.filter(|_| delta.closed != 0) {
            Some(was) => {
                let now = was.saturating_add_signed(delta.closed);
                set.push("closed = :closed");
                set.push("GSI2SK = :sort");
                conditions.push("closed = :was".into());
                update = update
                    .expression_attribute_values(":was", n(was))
                    .expression_attribute_values(":closed", n(now))
                    .expression_attribute_values(
                        ":sort",
                        s(keys::participant_index_sk(
                            &keys::closed_position(now),
                            &delta.customer_id,
                        )),
                    );
            }
            None => {
                add.push("closed :closed");
                update = update.expression_attribute_values(":closed", n(delta.closed));
            }
        }
        if let Some(times) = &delta.qualified_times {
            set.push("qualified_times = :times");
            update = update.expression_attribute_values(":times", to_attr(times));
        }
        if let Some(at) = &delta.vip_since {
            // Once: the crossing is also conditional on the closed count read.
            set.push("vip_since = :vip");
            conditions.push("attribute_not_exists(vip_since)".into());
            update = update.expression_attribute_values(":vip", to_attr(at));
        }
        if let Some(bump) = &delta.year {
            set.push("rewarded_year = :year");
            set.push("rewarded_in_year = :in_year");
            update = update
                .expression_attribute_values(":year", n(bump.year))
                .expression_attribute_values(":in_year", n(bump.count()));
            match bump.was {
                (None, _) => conditions.push("attribute_not_exists(rewarded_year)".into()),
                (Some(year), count) => {
                    conditions
                        .push("rewarded_year = :was_year AND rewarded_in_year = :was_count".into());
                    update = update
                        .expression_attribute_values(":was_year", n(year))
                        .expression_attribute_values(":was_count", n(count));
                }
            }
        }
        let mut expression = format!("ADD {}", add.join(", "));
        if !set.is_empty() {
            expression.push_str(&format!(" SET {}", set.join(", ")));
        }
        update = update
            .update_expression(expression)
            .condition_expression(conditions.join(" AND "));
        tx.update(update, Role::Changed)?;
    }
    Ok(())
}

#[async_trait]
impl Participants for DynamoStore {
    async fn due_reengagements(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, ReengageDue)>> {
        self.reengagements_due(until, limit).await
    }

    async fn get(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
    ) -> anyhow::Result<Option<Participant>> {
        let key = (keys::business_pk(business), keys::participant_sk(customer));
        let item: Option<ParticipantItem> = self.get_as(key, true).await?;
        Ok(item.map(ParticipantItem::into_domain))
    }

    async fn set_reward_override(
        &self,
        business: &BusinessId,
        customer: &CustomerId,
        own: Option<&RewardOverride>,
    ) -> anyhow::Result<Written> {
        let update = self
            .dynamodb()
            .update_item()
            .table_name(self.table())
            .set_key(Some(primary_key((
                keys::business_pk(business),
                keys::participant_sk(customer),
            ))))
            .condition_expression("attribute_exists(PK)");
        let update = match own {
            Some(own) => update
                .update_expression("SET reward_override = :own")
                .expression_attribute_values(":own", serde_dynamo::to_attribute_value(own)?),
            None => update.update_expression("REMOVE reward_override"),
        };
        written(update.send().await, "UpdateItem (reward override)")
    }

    async fn referrer(&self, code: &ReferralCode) -> anyhow::Result<Option<Referrer>> {
        let item: Option<CodeItem> = self.get_as(keys::code(code), false).await?;
        Ok(item.map(|item| item.referrer))
    }

    async fn list(
        &self,
        business: &BusinessId,
        sort: ParticipantSort,
        limit: u32,
        after: Option<&Position>,
    ) -> anyhow::Result<Page<Participant, Position>> {
        let index: Index = match sort {
            ParticipantSort::Recent => GSI1,
            ParticipantSort::Closed => GSI2,
        };
        let after = after.map(|position| {
            let key = (
                keys::business_pk(business),
                keys::participant_sk(&position.customer_id),
            );
            let index_sk = keys::participant_index_sk(&position.sort_key, &position.customer_id);
            (key, index_sk)
        });
        let found = self
            .newest_first(index, keys::participants_pk(business), after, limit)
            .await?;
        let items = found
            .into_iter()
            .map(participant_from_item)
            .collect::<anyhow::Result<Vec<_>>>()
            .context("reading participant items")?;
        Ok(Page::of(items, limit, |last| Position {
            sort_key: match sort {
                ParticipantSort::Recent => keys::enrolled_position(last.enrolled_at),
                ParticipantSort::Closed => keys::closed_position(last.stats.closed),
            },
            customer_id: last.customer_id.clone(),
        }))
    }
}

#[async_trait]
impl Clicks for DynamoStore {
    async fn record(&self, click: &Click, tally: &Tally) -> anyhow::Result<Written> {
        let (pk, sk) = keys::click(click.id);
        let item = to_item(ClickItem {
            pk,
            sk,
            kind: "click".into(),
            click_id: click.id,
            business_id: click.business_id.clone(),
            customer_id: click.customer_id.clone(),
            code: click.code.clone(),
            channel: click.channel,
            ip_hash: click.ip_hash.clone(),
            at: click.at,
            expires_at: click.expires_at.timestamp(),
        })?;
        let counters = Update::builder()
            .set_key(Some(primary_key((
                keys::business_pk(&click.business_id),
                keys::participant_sk(&click.customer_id),
            ))))
            .update_expression("ADD clicks :one, #channel :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#channel", channel_counter(click.channel))
            .expression_attribute_values(":one", n(1));
        let mut tx = Tx::new(self.table());
        tx.put_new(item, Role::Plain)?;
        tx.update(counters, Role::Plain)?;
        reports::commit_tally(&mut tx, &click.business_id, tally)?;
        // Refused: a simultaneous write met this one, or the code's participant is not there.
        Ok(match tx.send(self).await? {
            Ok(()) => Written::Applied,
            Err(_) => Written::Refused,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct ReengageItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    kind: String,
    business_id: BusinessId,
    customer_id: CustomerId,
    since: DateTime<Utc>,
    due_at: DateTime<Utc>,
}

/// A participant's next re-engagement as stored, on the due-date queue.
pub(crate) fn reengage_item(business: &BusinessId, due: &ReengageDue) -> anyhow::Result<Item> {
    let (pk, sk) = keys::reengage_due(business, &due.customer_id);
    Ok(to_item(ReengageItem {
        pk,
        sk,
        gsi1pk: keys::DUE_REENGAGEMENTS.to_owned(),
        gsi1sk: keys::due_reengagement_sk(due.due_at, business, &due.customer_id),
        kind: "reengage_due".into(),
        business_id: business.clone(),
        customer_id: due.customer_id.clone(),
        since: due.since,
        due_at: due.due_at,
    })?)
}

/// Moves participants' next re-engagement: a plain put, the latest activity wins.
pub(crate) fn commit_reengage(
    tx: &mut Tx<'_>,
    business: &BusinessId,
    plan: &Plan,
) -> anyhow::Result<()> {
    for due in &plan.reengage {
        tx.put(reengage_item(business, due)?, None, Role::Plain)?;
    }
    Ok(())
}

impl DynamoStore {
    pub(crate) async fn reengagements_due(
        &self,
        until: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<(BusinessId, ReengageDue)>> {
        self.queued(keys::DUE_REENGAGEMENTS, super::Until::Through(until), limit)
            .await?
            .into_iter()
            .map(|item| {
                let due: ReengageItem = from_item(item).context("reading a re-engagement due")?;
                Ok((
                    due.business_id,
                    ReengageDue {
                        customer_id: due.customer_id,
                        since: due.since,
                        due_at: due.due_at,
                    },
                ))
            })
            .collect()
    }
}
