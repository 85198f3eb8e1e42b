//! The one table's definition. `infra/template.yaml` declares the same table for AWS; a test
//! reads the template and checks that the two agree.

use anyhow::Context;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

pub const PARTITION_KEY: &str = "PK";
pub const SORT_KEY: &str = "SK";
/// Epoch seconds after which DynamoDB deletes the item (clicks, idempotency records).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// A global secondary index with string keys, projecting every attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

/// Participants of a business by enrolment time.
pub const GSI1: Index = Index {
    name: "GSI1",
    partition_key: "GSI1PK",
    sort_key: "GSI1SK",
};
/// Participants of a business by closed referrals.
pub const GSI2: Index = Index {
    name: "GSI2",
    partition_key: "GSI2PK",
    sort_key: "GSI2SK",
};
pub const INDEXES: [Index; 2] = [GSI1, GSI2];

/// Every key attribute, all strings.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PARTITION_KEY, SORT_KEY];
    for index in INDEXES {
        names.push(index.partition_key);
        names.push(index.sort_key);
    }
    names
}

fn key(name: &str, kind: KeyType) -> anyhow::Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .context("key schema element")
}

/// Creates the table (on-demand, both indexes) and turns TTL on. An existing table is left as is.
pub async fn create(client: &Client, table: &str) -> anyhow::Result<()> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PARTITION_KEY, KeyType::Hash)?)
        .key_schema(key(SORT_KEY, KeyType::Range)?);
    for name in key_attributes() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .context("attribute definition")?,
        );
    }
    for index in INDEXES {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition_key, KeyType::Hash)?)
                .key_schema(key(index.sort_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .context("index definition")?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(err) => return Err(err).context("creating the table"),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .context("ttl specification")?,
        )
        .send()
        .await
        .context("enabling TTL")?;
    Ok(())
}
