//! The edge's AWS JSON 1.1 protocol with raw HTTP: error shapes, request ids, SigV4 and the
//! operational endpoints. The README's compatibility table is checked against what the edge does.

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use cognate_tests::{Sandbox, ScratchDir, Topology, error_code};

const IDP: &str = "AWSCognitoIdentityProviderService";

fn amz_date() -> String {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .expect("formats")
}

/// A well-formed SigV4 header whose signature is not checked (local development: no keys).
fn dev_signature(service: &str) -> (String, String) {
    let date = amz_date();
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDDEV/{}/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature={}",
        &date[..8],
        "0".repeat(64)
    );
    (date, authorization)
}

async fn post(
    endpoint: &str,
    target: &str,
    body: &str,
    signed: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body.to_owned());
    if let Some(service) = signed {
        let (date, authorization) = dev_signature(service);
        request = request
            .header("x-amz-date", date)
            .header("authorization", authorization);
    }
    let response = request.send().await.expect("answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

async fn dev_sandbox() -> Sandbox {
    let data_dir = ScratchDir::new();
    let mut config = cognate_tests::base_config(&data_dir);
    cognate_tests::development_mode(&mut config);
    Sandbox::all_in_one(config, data_dir).await.expect("starts")
}

/// Development mode is asked for, never implied by the address: a loopback listener without
/// access keys and without `--dev` refuses every signed call, saying how to configure keys, and
/// serves no dev outbox; public operations still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_without_keys_is_not_development_mode() {
    let data_dir = ScratchDir::new();
    let config = cognate_common::Config {
        access_keys: Vec::new(),
        ..cognate_tests::base_config(&data_dir)
    };
    let sandbox = Sandbox::all_in_one(config, data_dir).await.expect("starts");
    let endpoint = &sandbox.endpoint;
    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.ListUserPools"),
        r#"{"MaxResults": 1}"#,
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("UnrecognizedClientException"))
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("COGNATE_ACCESS_KEYS") && message.contains("--dev"),
        "{message}"
    );
    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.InitiateAuth"),
        r#"{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nope", "AuthParameters": {}}"#,
        None,
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    let outbox = reqwest::get(format!("{endpoint}/_dev/outbox"))
        .await
        .expect("answers");
    assert_eq!(outbox.status().as_u16(), 404);
}

/// In development mode a request is answered only when addressed to a loopback name or the
/// public URL's host: a page on another name resolved to 127.0.0.1 (DNS rebinding) gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_mode_answers_only_loopback_hosts() {
    let sandbox = dev_sandbox().await;
    let port = sandbox
        .endpoint
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned();
    let list_pools = |host: String| {
        let (date, authorization) = dev_signature("cognito-idp");
        reqwest::Client::new()
            .post(&sandbox.endpoint)
            .header("host", host)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("{IDP}.ListUserPools"))
            .header("x-amz-date", date)
            .header("authorization", authorization)
            .body(r#"{"MaxResults": 1}"#)
            .send()
    };
    for host in [
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
    ] {
        let response = list_pools(host.clone()).await.expect("answers");
        assert_eq!(response.status().as_u16(), 403, "{host}");
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "AccessDeniedException:"
        );
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["__type"], "AccessDeniedException", "{host}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let response = list_pools(host.clone()).await.expect("answers");
        assert_eq!(response.status().as_u16(), 200, "{host}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_aws_shape() {
    let sandbox = dev_sandbox().await;
    let endpoint = &sandbox.endpoint;

    let (status, headers, body) = post(
        endpoint,
        &format!("{IDP}.CreateUserPool"),
        "{not json",
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");
    assert_eq!(headers["x-amzn-errortype"], "SerializationException:");
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert!(headers.contains_key("x-amzn-requestid"));

    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.MakeCoffee"),
        "{}",
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, _, body) = post(endpoint, "NoSuchService.CreateUserPool", "{}", None).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );

    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.CreateUserPool"),
        "{}",
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidParameterException"))
    );
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'poolName' failed to satisfy constraint: Member must not be null"
    );
    let (_, _, body) = post(
        endpoint,
        &format!("{IDP}.CreateUserPool"),
        r#"{"PoolName": 7}"#,
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(body["__type"], "InvalidParameterException");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| message.contains("'poolName'")),
        "{body}"
    );

    // Signed operations need a signature; public ones don't.
    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.CreateUserPool"),
        r#"{"PoolName":"x"}"#,
        None,
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("MissingAuthenticationTokenException"))
    );
    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.InitiateAuth"),
        r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"nope","AuthParameters":{}}"#,
        None,
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );

    // Not built yet: a clear, Cognito-shaped answer naming the operation.
    let (status, _, body) = post(
        endpoint,
        &format!("{IDP}.GetLogDeliveryConfiguration"),
        r#"{"UserPoolId":"us-east-1_x"}"#,
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnsupportedOperationException"))
    );
    assert_eq!(
        body["message"],
        "Cognate does not implement GetLogDeliveryConfiguration yet."
    );

    let huge = format!(r#"{{"PoolName":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let (status, _, _) = post(
        endpoint,
        &format!("{IDP}.CreateUserPool"),
        &huge,
        Some("cognito-idp"),
    )
    .await;
    assert_eq!(status, 413);

    for path in ["/health", "/ready"] {
        let response = reqwest::get(format!("{endpoint}{path}"))
            .await
            .expect("answers");
        assert_eq!(response.status(), 200, "{path}");
    }
    let metrics = reqwest::get(format!("{endpoint}/metrics"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("cognate_requests_total{operation=\"CreateUserPool\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("error_type=\"InvalidParameterException\""),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_against_configured_keys() {
    let sandbox = Sandbox::start(Topology::AllInOne).await.expect("starts");
    let wrong_secret = sandbox.idp_with(cognate_tests::ACCESS_KEY_ID, "not-the-secret");
    let error = wrong_secret
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .expect_err("bad signature");
    assert_eq!(error_code(&error), "InvalidSignatureException");
    let unknown_key = sandbox.idp_with("AKIDUNKNOWN", "whatever");
    let error = unknown_key
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(error_code(&error), "UnrecognizedClientException");
    // A public operation with bad credentials still works: it is not signed-checked.
    let error = unknown_key
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id("nope")
        .send()
        .await
        .expect_err("unknown client");
    assert_eq!(error_code(&error), "ResourceNotFoundException");
    sandbox
        .idp()
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .expect("the right key works");
    let elsewhere = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new(
                "eu-west-1",
            ))
            .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
                cognate_tests::ACCESS_KEY_ID,
                cognate_tests::SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
            .endpoint_url(&sandbox.endpoint)
            .build(),
    );
    let error = elsewhere
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .expect_err("another region");
    assert_eq!(error_code(&error), "InvalidSignatureException");
}

/// Every row of the README's compatibility table is what the edge does: `not yet` operations
/// answer UnsupportedOperationException and the others never do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_compatibility_table_is_true() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let start = readme.find("<!-- compat:start -->").expect("start marker");
    let end = readme.find("<!-- compat:end -->").expect("end marker");
    let mut statuses = BTreeMap::new();
    let mut section = "";
    for line in readme[start..end].lines() {
        if line.contains("cognito-idp") && !line.starts_with('|') {
            section = IDP;
        } else if line.contains("cognito-identity") && !line.starts_with('|') {
            section = "AWSCognitoIdentityService";
        } else if line.contains("cognito-sync") && !line.starts_with('|') {
            section = "sync";
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4 && ["done", "partial", "not yet"].contains(&cells[2]) {
            statuses.insert((section, cells[1].to_owned()), cells[2].to_owned());
        }
    }
    assert!(
        statuses.len() > 150,
        "the table lists every operation ({} rows found)",
        statuses.len()
    );

    let sandbox = dev_sandbox().await;
    let mut wrong = Vec::new();
    for ((section, operation), status) in &statuses {
        if *section == "sync" {
            // Cognito Sync's REST paths are not served yet: every row must say so.
            if status != "not yet" {
                wrong.push(format!(
                    "{operation}: cognito-sync is not served, so it cannot be {status}"
                ));
            }
            continue;
        }
        let service = if *section == IDP {
            "cognito-idp"
        } else {
            "cognito-identity"
        };
        let body = minimal_body(section, operation);
        let (_, _, answer) = post(
            &sandbox.endpoint,
            &format!("{section}.{operation}"),
            &body,
            Some(service),
        )
        .await;
        let unsupported = answer["__type"] == "UnsupportedOperationException"
            && answer["message"]
                .as_str()
                .is_some_and(|message| message.contains("does not implement"));
        if unsupported != (status == "not yet") {
            wrong.push(format!(
                "{operation}: README says {status}, edge answered {answer}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "README compatibility table is wrong:\n{}",
        wrong.join("\n")
    );
}

/// A body that passes the edge's top-level validation: every required member with a value of
/// its type (the first enum value for enums), so the call reaches the owning service.
fn minimal_body(section: &str, operation: &str) -> String {
    let model = if section == IDP {
        &*cognate_proto::model::IDP
    } else {
        &*cognate_proto::model::IDENTITY
    };
    let spec = &model.operations[operation];
    let shape = model.shapes.get(&spec.input);
    let message = cognate_proto::DESCRIPTOR_POOL
        .get_message_by_name(&model.message_name(&spec.input))
        .expect("input message");
    let mut body = serde_json::Map::new();
    for member in shape
        .map(|shape| shape.required.clone())
        .unwrap_or_default()
    {
        let field = message.get_field_by_json_name(&member).expect("field");
        let enum_value = shape
            .and_then(|shape| shape.members.get(&member))
            .and_then(|rules| rules.r#enum.as_ref())
            .and_then(|values| values.first().cloned());
        let value = if field.is_list() {
            serde_json::json!([])
        } else if field.is_map() {
            serde_json::json!({})
        } else {
            match field.kind() {
                prost_reflect::Kind::String => {
                    serde_json::json!(enum_value.unwrap_or_else(|| "x".into()))
                }
                prost_reflect::Kind::Bool => serde_json::json!(false),
                prost_reflect::Kind::Int32
                | prost_reflect::Kind::Int64
                | prost_reflect::Kind::Double => serde_json::json!(1),
                prost_reflect::Kind::Bytes => serde_json::json!("eA=="),
                _ => serde_json::json!({}),
            }
        };
        body.insert(member, value);
    }
    serde_json::Value::Object(body).to_string()
}

/// One address gets its per-minute share of the operations that send or check codes, then
/// Cognito's TooManyRequestsException; other operations are not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_requests_are_limited_per_address() {
    let sandbox = Sandbox::start_configured(Topology::AllInOne, |config| {
        config.code_requests_per_address_per_minute = 3;
    })
    .await
    .expect("starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("limited")).await;
    let client_id = cognate_tests::password_auth_client(&idp, &pool_id).await;
    let forgot = |name: &'static str| {
        idp.forgot_password()
            .client_id(&client_id)
            .username(name)
            .send()
    };
    for name in ["a", "b", "c"] {
        let answer = forgot(name).await.expect_err("no such user");
        assert_eq!(error_code(&answer), "UserNotFoundException");
    }
    let refused = forgot("d").await.expect_err("past the limit");
    assert!(
        matches!(
            refused.as_service_error(),
            Some(aws_sdk_cognitoidentityprovider::operation::forgot_password::ForgotPasswordError::TooManyRequestsException(_))
        ),
        "{refused:?}"
    );
    idp.list_user_pools()
        .max_results(1)
        .send()
        .await
        .expect("other operations are not counted");
}

/// Behind a trusted proxy (here loopback, where the test connects from) the limit counts the
/// client `X-Forwarded-For` names: clients behind one proxy don't share a share, and one
/// client still gets only its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_behind_a_trusted_proxy_are_limited_apart() {
    let sandbox = Sandbox::start_configured(Topology::AllInOne, |config| {
        config.code_requests_per_address_per_minute = 2;
        config.trusted_proxies = vec!["127.0.0.0/8".parse().expect("a network")];
    })
    .await
    .expect("starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(idp.create_user_pool().pool_name("proxied")).await;
    let client_id = cognate_tests::password_auth_client(&idp, &pool_id).await;
    let forgot = |client: &'static str| {
        idp.forgot_password()
            .client_id(&client_id)
            .username("nobody")
            .customize()
            .mutate_request(move |request| {
                request.headers_mut().insert("x-forwarded-for", client);
            })
            .send()
    };
    for client in [
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.1",
    ] {
        let answer = forgot(client).await.expect_err("no such user");
        assert_eq!(error_code(&answer), "UserNotFoundException", "{client}");
    }
    let refused = forgot("198.51.100.1").await.expect_err("past its limit");
    assert!(
        matches!(
            refused.as_service_error(),
            Some(aws_sdk_cognitoidentityprovider::operation::forgot_password::ForgotPasswordError::TooManyRequestsException(_))
        ),
        "{refused:?}"
    );
}

/// A client that sends its headers slowly, or opens a connection and says nothing, is cut off
/// after the header-read timeout instead of holding a task for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sandbox = dev_sandbox().await;
    let address = sandbox.endpoint.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("half a header");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    // The read ends when the server closes the connection (a bound far above the 10 s timeout
    // keeps a regression from hanging the suite).
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(matches!(read, Ok(Ok(_))), "closed by the server: {read:?}");
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(9) && waited < std::time::Duration::from_secs(30),
        "{waited:?}"
    );
}

/// `/metrics` can be turned off, or served on an address of its own that the public port does
/// not answer for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_move_or_be_turned_off() {
    use cognate_common::config::MetricsListen;
    let start = |metrics_listen: MetricsListen| async move {
        let data_dir = ScratchDir::new();
        let config = cognate_common::Config {
            metrics_listen,
            ..cognate_tests::base_config(&data_dir)
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bound");
        let node = cognate::start(config, listener).await.expect("starts");
        (node, data_dir)
    };
    let status =
        |url: String| async move { reqwest::get(url).await.expect("answers").status().as_u16() };
    let (off, _off_data) = start(MetricsListen::Off).await;
    assert_eq!(
        status(format!("http://{}/metrics", off.address())).await,
        404
    );
    assert_eq!(
        status(format!("http://{}/health", off.address())).await,
        200
    );
    let (apart, _apart_data) = start(MetricsListen::Address(
        "127.0.0.1:0".parse().expect("address"),
    ))
    .await;
    let metrics_address = apart.metrics_address().expect("a metrics address");
    assert_eq!(
        status(format!("http://{}/metrics", apart.address())).await,
        404
    );
    assert_eq!(
        status(format!("http://{metrics_address}/metrics")).await,
        200
    );
    off.shutdown().await.expect("stops");
    apart.shutdown().await.expect("stops");
}
