//! The built `enrich` binary through the Lambda Runtime API, against a Genesys stand-in on loopback
//! (wiremock, serving the real analytics sample) and real DynamoDB and SQS APIs (moto): the multi-get,
//! deduplication and chunks, partial answers, the request budget, 429s, give-up after the retry budget,
//! the conditional enrichment update, and logs free of secrets.

use std::time::Duration;

use gcx_core::contract::EnrichmentRequest;
use serde_json::{json, Value};
use test_support::aws::LocalAws;
use test_support::FunctionProcess;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TABLE: &str = "conversations";
const DETAILS: &str =
    include_str!("../../genesys/tests/fixtures/analytics_conversation_details_1.json");
const SECRET: &str = "s3cret-client-value";
const TOKEN: &str = "access-token-abc123";
const MULTI_GET: &str = "/api/v2/analytics/conversations/details";
const IDS: [&str; 4] = [
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
    "44444444-4444-4444-8444-444444444444",
];

/// Answers a multi-get with the sample re-issued for every asked id that is `indexed`.
struct Analytics {
    indexed: Vec<&'static str>,
}

impl Respond for Analytics {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let asked: Vec<String> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k == "id")
            .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let conversations: Vec<Value> = asked
            .iter()
            .filter(|id| self.indexed.contains(&id.as_str()))
            .map(|id| {
                let mut d: Value = serde_json::from_str(DETAILS).unwrap();
                d["conversationId"] = json!(id);
                d
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "conversations": conversations }))
    }
}

struct Stack {
    aws: LocalAws,
    genesys: MockServer,
    queue: String,
    dlq: String,
    rt: tokio::runtime::Runtime,
}

impl Stack {
    fn new() -> Self {
        let aws = LocalAws::start(false);
        aws.create_table(TABLE);
        let queue = aws.create_queue("enrichment");
        let dlq = aws.create_queue("enrichment-dlq");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let genesys = rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/oauth/token"))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400}),
                ))
                .mount(&server)
                .await;
            server
        });
        Self {
            aws,
            genesys,
            queue,
            dlq,
            rt,
        }
    }

    fn analytics(&self, response: impl Respond + 'static) {
        self.rt.block_on(
            Mock::given(method("GET"))
                .and(path(MULTI_GET))
                .and(wiremock::matchers::header(
                    "authorization",
                    format!("Bearer {TOKEN}").as_str(),
                ))
                .respond_with(response)
                .mount(&self.genesys),
        );
    }

    fn enrich(&self, extra: &[(&str, &str)]) -> FunctionProcess {
        let uri = self.genesys.uri();
        let mut env: Vec<(String, String)> = self.aws.env();
        for (k, v) in [
            ("GENESYS_LOGIN_URL", uri.as_str()),
            ("GENESYS_API_URL", uri.as_str()),
            ("GENESYS_CLIENT_ID", "client-id"),
            ("GENESYS_CLIENT_SECRET", SECRET),
            ("GENESYS_TIMEOUT", "2"),
            ("DYNAMODB_TABLE_NAME", TABLE),
            ("ENRICHMENT_QUEUE_URL", self.queue.as_str()),
            ("ENRICHMENT_DEAD_LETTER_QUEUE_URL", self.dlq.as_str()),
            ("ENRICH_RETRY_SECONDS", "1"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ] {
            env.push((k.into(), v.into()));
        }
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let env_refs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        FunctionProcess::start(env!("CARGO_BIN_EXE_enrich"), &env_refs)
    }

    fn api_requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.genesys.received_requests())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == MULTI_GET)
            .collect()
    }
}

fn request(conversation: &str, event: &str, attempt: u32) -> EnrichmentRequest {
    EnrichmentRequest {
        conversation_id: conversation.into(),
        event_id: event.into(),
        event_type: "v2.detail.events.conversation.{id}.customer.end".into(),
        event_time: 1_617_281_003_303,
        correlation_id: Some(format!("corr-{event}")),
        execution_id: Some("arn:aws:states:us-east-1:123456789012:execution:p:b".into()),
        attempt,
        unavailable: 0,
        first_queued_at: 1,
    }
}

/// An SQS event with one message per group of requests.
fn sqs(messages: &[Vec<EnrichmentRequest>]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, requests)| json!({"messageId": format!("m{i}"), "receiptHandle": format!("r{i}"),
            "body": json!({"requests": requests}).to_string(), "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:enrichment", "awsRegion": "us-east-1",
            "attributes": {}, "messageAttributes": {}}))
        .collect();
    json!({ "Records": records })
}

#[test]
fn one_multi_get_for_a_batch_partial_answers_retried_and_duplicates_merged() {
    let stack = Stack::new();
    stack.analytics(Analytics {
        indexed: vec![IDS[0], IDS[1]],
    });
    let f = stack.enrich(&[]);
    let input = sqs(&[
        vec![request(IDS[0], "a1", 0), request(IDS[1], "b1", 0)],
        vec![request(IDS[0], "a2", 0), request(IDS[2], "c1", 0)],
    ]);
    let out = f.invoke(&input);
    assert!(out.ok, "{out:?}\n{}", f.logs());
    let b = &out.body;
    assert_eq!(
        (
            b["requests"].clone(),
            b["conversations"].clone(),
            b["genesysRequests"].clone()
        ),
        (json!(4), json!(3), json!(1))
    );
    assert_eq!(
        (
            b["enriched"].clone(),
            b["notIndexed"].clone(),
            b["batchItemFailures"].clone()
        ),
        (json!(2), json!(1), json!([]))
    );
    let requests = stack.api_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].url.query(),
        Some(format!("id={},{},{}", IDS[0], IDS[1], IDS[2]).as_str())
    );

    let item = stack.aws.item(TABLE, IDS[0]).expect("enriched item");
    assert_eq!(item["enriched"], true);
    assert_eq!(item["customerParticipantName"], "John Doe");
    assert_eq!(item["durationMs"], 929_920);
    assert!(
        item.get("lastEventId").is_none(),
        "enrich never writes event attributes"
    );
    assert!(stack.aws.item(TABLE, IDS[2]).is_none());

    std::thread::sleep(Duration::from_millis(1300));
    let again = stack.aws.drain(&stack.queue);
    let [message] = again.as_slice() else {
        panic!("{again:?}")
    };
    assert_eq!(message.body["requests"][0]["conversationId"], IDS[2]);
    assert_eq!(message.body["requests"][0]["attempt"], 1);
    let line = f.assert_logged_with_request_id(&out);
    assert_eq!(line["outcome"], "ok");
    // The requests were first queued at 1 ms after the epoch: the oldest one waited that long, and the
    // one handed back (not indexed) is seen again, as old, at its next try: what the lag alarm watches.
    assert_eq!(b["oldestWaitingMs"], line["oldestWaitingMs"]);
    assert!(
        line["oldestWaitingMs"].as_i64().unwrap() > 1_700_000_000_000,
        "{line}"
    );
    assert_eq!(message.body["requests"][0]["firstQueuedAt"], 1);
    // Every request's id, from inside the SQS bodies, the merged duplicate's included.
    test_support::assert_line_correlates(&line, &input);
    let logs = f.logs();
    for secret in [SECRET, TOKEN] {
        assert!(!logs.contains(secret), "the logs hold {secret}");
    }
}

#[test]
fn chunks_hold_at_most_genesys_multiget_max_ids() {
    let stack = Stack::new();
    stack.analytics(Analytics {
        indexed: IDS.to_vec(),
    });
    let f = stack.enrich(&[("GENESYS_MULTIGET_MAX", "3")]);
    let out = f.invoke(&sqs(&[IDS
        .iter()
        .enumerate()
        .map(|(i, id)| request(id, &format!("e{i}"), 0))
        .collect()]));
    assert_eq!(
        (
            out.body["genesysRequests"].clone(),
            out.body["enriched"].clone()
        ),
        (json!(2), json!(4))
    );
    let sizes: Vec<usize> = stack
        .api_requests()
        .iter()
        .map(|r| r.url.query().unwrap().split(',').count())
        .collect();
    assert_eq!(sizes, [3, 1]);
}

#[test]
fn the_budget_is_never_exceeded_and_the_rest_is_handed_back_not_dead_lettered() {
    let stack = Stack::new();
    stack.analytics(Analytics {
        indexed: IDS.to_vec(),
    });
    // 3 requests a minute for one consumer: the token and two multi-gets of one id each.
    let f = stack.enrich(&[
        ("GENESYS_REQUESTS_PER_MINUTE", "3"),
        ("ENRICH_MAX_CONCURRENCY", "1"),
        ("GENESYS_MULTIGET_MAX", "1"),
        ("ENRICH_MAX_WAIT_SECONDS", "0"),
    ]);
    let out = f.invoke(&sqs(&[IDS
        .iter()
        .enumerate()
        .map(|(i, id)| request(id, &format!("e{i}"), 0))
        .collect()]));
    assert!(out.ok);
    let b = &out.body;
    assert_eq!(
        (
            b["enriched"].clone(),
            b["requeued"].clone(),
            b["deadLettered"].clone()
        ),
        (json!(2), json!(2), json!(0))
    );
    assert_eq!(b["rateLimited"], true);
    let all = stack
        .rt
        .block_on(stack.genesys.received_requests())
        .unwrap();
    assert_eq!(all.len(), 3, "token + 2 API requests: the budget");
    assert_eq!(
        stack.aws.drain(&stack.queue).len(),
        0,
        "handed back with a delay of about a minute"
    );
    assert_eq!(stack.aws.delayed(&stack.queue), 1);
    // A second invocation within the minute sends nothing at all.
    let out = f.invoke(&sqs(&[vec![request(IDS[2], "x", 0)]]));
    assert_eq!(out.body["genesysRequests"], 0);
    assert_eq!(
        stack
            .rt
            .block_on(stack.genesys.received_requests())
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_429_stops_the_invocation_and_hands_back_after_retry_after() {
    let stack = Stack::new();
    stack.analytics(ResponseTemplate::new(429).insert_header("Retry-After", "1").set_body_json(
        json!({"message": "Rate limit exceeded the maximum", "code": "too.many.requests", "status": 429}),
    ));
    let f = stack.enrich(&[("GENESYS_MULTIGET_MAX", "1")]);
    let out = f.invoke(&sqs(&[vec![
        request(IDS[0], "a", 0),
        request(IDS[1], "b", 0),
    ]]));
    assert_eq!(
        (
            out.body["genesysRequests"].clone(),
            out.body["requeued"].clone(),
            out.body["deadLettered"].clone()
        ),
        (json!(1), json!(2), json!(0))
    );
    assert_eq!(stack.api_requests().len(), 1, "no call after the 429");
    std::thread::sleep(Duration::from_millis(1300));
    let back = stack.aws.drain(&stack.queue);
    let attempts: Vec<Value> = back
        .iter()
        .flat_map(|m| {
            m.body["requests"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["attempt"].clone())
        })
        .collect();
    assert_eq!(attempts, [json!(0), json!(0)], "a rate limit is not a try");
}

#[test]
fn a_conversation_never_indexed_is_dead_lettered_after_the_last_try_with_its_request() {
    let stack = Stack::new();
    stack.analytics(Analytics { indexed: vec![] });
    let f = stack.enrich(&[("ENRICH_MAX_ATTEMPTS", "2")]);
    let out = f.invoke(&sqs(&[vec![request(IDS[0], "late", 2)]]));
    assert_eq!(out.body["deadLettered"], 1);
    let letters = stack.aws.drain(&stack.dlq);
    let [letter] = letters.as_slice() else {
        panic!("{letters:?}")
    };
    assert_eq!(letter.body["error"], "Genesys.NotYetAvailable");
    assert_eq!(letter.body["stage"], "enrich");
    assert_eq!(letter.body["eventId"], "late");
    assert_eq!(letter.body["correlationId"], "corr-late");
    assert!(
        letter.body["cause"].as_str().unwrap().contains("3 tries"),
        "{}",
        letter.body["cause"]
    );
    assert_eq!(
        letter.body["input"]["requests"][0]["attempt"], 0,
        "redriven as a fresh request"
    );
    assert_eq!(letter.attributes["ERROR_CODE"], "Genesys.NotYetAvailable");
}

#[test]
fn a_view_fetched_earlier_never_replaces_a_later_one() {
    let stack = Stack::new();
    stack.analytics(Analytics {
        indexed: vec![IDS[0]],
    });
    let later = 4_000_000_000_000_i64;
    stack
        .aws
        .block_on(
            stack
                .aws
                .dynamo
                .put_item()
                .table_name(TABLE)
                .item(
                    "conversationId",
                    aws_sdk_dynamodb::types::AttributeValue::S(IDS[0].into()),
                )
                .item(
                    "enrichedAt",
                    aws_sdk_dynamodb::types::AttributeValue::N(later.to_string()),
                )
                .item(
                    "customerParticipantName",
                    aws_sdk_dynamodb::types::AttributeValue::S("Kept".into()),
                )
                .item(
                    "lastEventId",
                    aws_sdk_dynamodb::types::AttributeValue::S("ev".into()),
                )
                .send(),
        )
        .unwrap();
    let f = stack.enrich(&[]);
    let out = f.invoke(&sqs(&[vec![request(IDS[0], "a", 0)]]));
    assert_eq!(
        (out.body["enriched"].clone(), out.body["superseded"].clone()),
        (json!(0), json!(1))
    );
    let item = stack.aws.item(TABLE, IDS[0]).unwrap();
    assert_eq!(
        (
            item["customerParticipantName"].clone(),
            item["lastEventId"].clone()
        ),
        (json!("Kept"), json!("ev"))
    );
}

#[test]
fn refused_credentials_dead_letter_and_an_outage_hands_back() {
    let stack = Stack::new();
    stack.rt.block_on(
        Mock::given(method("GET"))
            .and(path(MULTI_GET))
            .respond_with(ResponseTemplate::new(403).set_body_json(
                json!({"message": "no", "code": "missing.permissions", "status": 403}),
            ))
            .up_to_n_times(1)
            .mount(&stack.genesys),
    );
    stack.analytics(ResponseTemplate::new(503));
    let f = stack.enrich(&[("GENESYS_MULTIGET_MAX", "1")]);
    let out = f.invoke(&sqs(&[vec![
        request(IDS[0], "a", 0),
        request(IDS[1], "b", 0),
    ]]));
    assert_eq!(
        out.body["deadLettered"], 2,
        "credentials refused: this one and the rest"
    );
    assert_eq!(
        stack.aws.drain(&stack.dlq)[0].body["error"],
        "Genesys.AuthFailed"
    );
    let out = f.invoke(&sqs(&[vec![request(IDS[2], "c", 0)]]));
    assert_eq!(
        (
            out.body["requeued"].clone(),
            out.body["deadLettered"].clone()
        ),
        (json!(1), json!(0))
    );
}

#[test]
fn a_malformed_message_is_dead_lettered_alone() {
    let stack = Stack::new();
    stack.analytics(Analytics {
        indexed: vec![IDS[0]],
    });
    let f = stack.enrich(&[]);
    let mut event = sqs(&[vec![request(IDS[0], "a", 0)]]);
    let mut junk = event["Records"][0].clone();
    junk["messageId"] = json!("junk");
    junk["body"] = json!("{not json");
    event["Records"].as_array_mut().unwrap().push(junk);
    let out = f.invoke(&event);
    assert_eq!(
        (
            out.body["enriched"].clone(),
            out.body["deadLettered"].clone()
        ),
        (json!(1), json!(1))
    );
    let letters = stack.aws.drain(&stack.dlq);
    assert_eq!(letters[0].body["error"], "Enrich.MalformedRequest");
    assert_eq!(letters[0].body["input"], "{not json");
}
