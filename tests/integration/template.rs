//! The SAM template declares the same table the local stack and tests create, and every function.

use serde_yaml::Value;
use vouch_aws::table;

fn template() -> Value {
    let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry[field].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_template_table_matches_the_code_definition() {
    let doc = template();
    let table_resource = &doc["Resources"]["Table"];
    assert_eq!(table_resource["Type"], "AWS::DynamoDB::Table");
    let props = &table_resource["Properties"];
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["AttributeName"],
        table::TTL_ATTRIBUTE
    );
    assert_eq!(props["TimeToLiveSpecification"]["Enabled"], true);

    let mut declared = names(&props["AttributeDefinitions"], "AttributeName");
    declared.sort();
    let mut expected: Vec<String> = table::key_attributes()
        .into_iter()
        .map(str::to_owned)
        .collect();
    expected.sort();
    assert_eq!(declared, expected);
    assert!(
        props["AttributeDefinitions"]
            .as_sequence()
            .unwrap()
            .iter()
            .all(|a| a["AttributeType"] == "S")
    );
    assert_eq!(
        names(&props["KeySchema"], "AttributeName"),
        vec![table::PARTITION_KEY, table::SORT_KEY]
    );
    assert_eq!(names(&props["KeySchema"], "KeyType"), vec!["HASH", "RANGE"]);

    let indexes = props["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), table::INDEXES.len());
    for index in table::INDEXES {
        let declared = indexes
            .iter()
            .find(|i| i["IndexName"] == index.name)
            .unwrap_or_else(|| panic!("{} missing", index.name));
        assert_eq!(
            names(&declared["KeySchema"], "AttributeName"),
            vec![index.partition_key, index.sort_key]
        );
        assert_eq!(
            names(&declared["KeySchema"], "KeyType"),
            vec!["HASH", "RANGE"]
        );
        assert_eq!(declared["Projection"]["ProjectionType"], "ALL");
    }
}

#[test]
fn every_function_is_an_arm64_cargo_lambda_build_of_its_crate() {
    let doc = template();
    let makefile =
        std::fs::read_to_string(format!("{}/../Makefile", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let functions: Vec<(&str, &str)> = vec![
        ("LinkClickFunction", "link-click"),
        ("LeadIntakeFunction", "lead-intake"),
        ("AdminApiFunction", "admin-api"),
        ("JobWebhookFunction", "job-webhook"),
        ("SmsInboundFunction", "sms-inbound"),
        ("SchedulerFunction", "scheduler"),
        ("RewardIssuerFunction", "reward-issuer"),
        ("JobberSyncFunction", "jobber-sync"),
    ];
    let declared = doc["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .count();
    assert_eq!(declared, functions.len(), "every function is listed here");
    for (logical, binary) in functions {
        let function = &doc["Resources"][logical];
        assert_eq!(function["Type"], "AWS::Serverless::Function", "{logical}");
        assert_eq!(function["Metadata"]["BuildMethod"], "makefile", "{logical}");
        // `sam build` runs the Makefile's build-{logical}: the one cargo-lambda run for every
        // function, then this function's own bootstrap.
        let target = format!(
            "build-{logical}: lambda-bootstraps\n\tcp target/lambda/{binary}/bootstrap $(ARTIFACTS_DIR)/bootstrap"
        );
        assert!(makefile.contains(&target), "{target}");
        assert!(
            makefile.contains(&format!(" {binary}")),
            "{binary} is among the Makefile's FUNCTIONS"
        );
        let crate_dir = format!(
            "{}/../functions/{binary}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        assert!(std::path::Path::new(&crate_dir).exists(), "{crate_dir}");
    }
    let globals = &doc["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
}

#[test]
fn jobber_webhooks_are_read_back_from_a_queue_with_a_dead_letter_queue() {
    let doc = template();
    let resources = &doc["Resources"];
    let queue = &resources["JobberReadBacks"];
    assert_eq!(queue["Type"], "AWS::SQS::Queue");
    let redrive = &queue["Properties"]["RedrivePolicy"];
    let target = serde_yaml::to_string(&redrive["deadLetterTargetArn"]).unwrap();
    assert!(target.contains("JobberReadBackDeadLetters"), "{target}");
    assert!(redrive["maxReceiveCount"].as_u64().unwrap() >= 3);
    let sync = &resources["JobberSyncFunction"]["Properties"];
    let event = &sync["Events"]["ReadBacks"];
    assert_eq!(event["Type"], "SQS");
    assert_eq!(
        event["Properties"]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    // Six times the function's timeout, as AWS advises for a queue trigger; the timeout
    // covers four Jobber calls of up to 10 s each.
    let timeout = sync["Timeout"].as_u64().unwrap();
    assert!(timeout >= 40, "{timeout}");
    assert!(queue["Properties"]["VisibilityTimeout"].as_u64().unwrap() >= 6 * timeout);
    let webhook = &resources["JobWebhookFunction"]["Properties"];
    let queue_url =
        serde_yaml::to_string(&webhook["Environment"]["Variables"]["VOUCH_JOBBER_QUEUE_URL"])
            .unwrap();
    assert!(queue_url.contains("JobberReadBacks"), "{queue_url}");
    let text = serde_yaml::to_string(&webhook["Policies"]).unwrap();
    assert!(text.contains("sqs:SendMessage"), "{text}");
    assert_eq!(
        webhook["Events"]["Jobber"]["Properties"]["Path"],
        "/webhooks/jobber"
    );
}
