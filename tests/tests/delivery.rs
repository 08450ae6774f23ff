//! Message delivery and the directory's triggers, through the AWS SDK for Rust in both
//! topologies: codes by email through a real SMTP server (aiosmtpd, started by the test) and by
//! SMS through a NATS sender; PreSignUp, CustomMessage and PostConfirmation handlers; the custom
//! email sender receiving the code encrypted; AdminCreateUser's invitation; email over STARTTLS
//! and implicit TLS with a login, certificates checked against a private CA.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, CustomEmailLambdaVersionConfigType, EmailConfigurationType,
    LambdaConfigType, MessageActionType, UserStatusType, VerifiedAttributeType,
};
use base64::Engine;
use cognate_tests::{
    Sandbox, Topology, attribute, each_topology, error_code, nats_handler, six_digits,
    wait_for_events,
};
use serde_json::json;

const PASSWORD: &str = "Correct-Horse-1";
const KEY_ID: &str = "arn:aws:kms:us-east-1:123456789012:key/cognate-test";
const SENDER_KEY: [u8; 32] = [42; 32];

/// A real SMTP server that keeps what it receives in a Maildir.
struct SmtpServer {
    port: u16,
    maildir: cognate_tests::ScratchDir,
    _process: tokio::process::Child,
}

/// aiosmtpd on a port, saving mail to a maildir: plain, or asking for TLS (STARTTLS, or from
/// the first byte) and for a login. It prints `ready` once it listens and exits if it cannot.
const SMTP_SERVER: &str = r#"
import asyncio, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, mode = sys.argv[1:4]

def authenticate(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"cognate", b"s3cret")
    return AuthResult(success=ok, handled=False)

options = {}
if mode != "plain":
    cert, key = sys.argv[4:6]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # Implicit TLS is TLS from the first byte, so aiosmtpd's STARTTLS-only checks stay off there.
    if mode == "implicit":
        options = {"ssl_context": context, "auth_require_tls": False}
    else:
        options = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    options["authenticator"] = authenticate
controller = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port), **options)
controller.start()
print("ready", flush=True)
asyncio.new_event_loop().run_forever()
"#;

/// How a test SMTP server is secured.
enum Security<'a> {
    None,
    /// STARTTLS or implicit TLS with this certificate and key, and a login.
    Tls {
        implicit: bool,
        certificate: &'a std::path::Path,
        key: &'a std::path::Path,
    },
}

impl SmtpServer {
    async fn start() -> Self {
        Self::start_with(Security::None).await
    }

    async fn start_with(security: Security<'_>) -> Self {
        use tokio::io::AsyncBufReadExt;
        let maildir = cognate_tests::ScratchDir::new();
        std::fs::create_dir_all(&maildir.0).expect("maildir parent");
        // A free port may be taken by another test before the server binds it: then the server
        // exits without `ready`, and another port is tried.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let mut command = tokio::process::Command::new("python3");
            command
                .args(["-c", SMTP_SERVER, &port.to_string()])
                .arg(maildir.0.join("mail"));
            match &security {
                Security::None => {
                    command.arg("plain");
                }
                Security::Tls {
                    implicit,
                    certificate,
                    key,
                } => {
                    command
                        .arg(if *implicit { "implicit" } else { "starttls" })
                        .args([*certificate, *key]);
                }
            }
            let mut process = command
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("aiosmtpd starts (scripts/test installs it with pip)");
            let stdout = process.stdout.take().expect("piped stdout");
            let mut line = String::new();
            let read = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                tokio::io::BufReader::new(stdout).read_line(&mut line),
            )
            .await;
            if matches!(read, Ok(Ok(_))) && line.trim() == "ready" {
                return Self {
                    port,
                    maildir,
                    _process: process,
                };
            }
        }
        panic!("aiosmtpd did not start on any of five ports");
    }

    /// Every message received so far, raw.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.0.join("mail").join("new")) else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
            .collect()
    }

    /// Waits for a message to `address` and returns it.
    async fn message_to(&self, address: &str) -> String {
        for _ in 0..100 {
            if let Some(message) = self
                .messages()
                .into_iter()
                .find(|message| message.contains(&format!("To: {address}")))
            {
                return message;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no email to {address} arrived; have {:?}", self.messages());
    }
}

/// The code in a raw email: six digits in its body, not its headers.
fn code_in_email(raw: &str) -> String {
    let body = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .map(|(_, body)| body)
        .unwrap_or_default();
    six_digits(body).expect("a code in the body")
}

async fn confirm(idp: &Client, client_id: &str, username: &str, code: &str) {
    idp.confirm_sign_up()
        .client_id(client_id)
        .username(username)
        .confirmation_code(code)
        .send()
        .await
        .expect("confirmed with the delivered code");
}

async fn client(idp: &Client, pool_id: &str) -> String {
    cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("app"),
    )
    .await
}

async fn codes_go_out_by_smtp_and_sms(topology: Topology) {
    let smtp = SmtpServer::start().await;
    let sms_subject = format!("sms-{}", uuid::Uuid::new_v4().simple());
    let texts = nats_handler(&sms_subject, |event| event.clone()).await;
    let sandbox = Sandbox::start_configured(topology, |config| {
        config.smtp_url = Some(cognate_common::config::Secret::new(format!(
            "smtp://127.0.0.1:{}",
            smtp.port
        )));
        config.sms_sender = Some(format!("nats:{sms_subject}"));
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();

    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("mail")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .alias_attributes(AliasAttributeType::Email)
            .email_configuration(
                EmailConfigurationType::builder()
                    .from("Example App <no-reply@app.example>")
                    .reply_to_email_address("help@app.example")
                    .build(),
            ),
    )
    .await;
    let client_id = client(&idp, &pool_id).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("email", "jane@example.com"))
        .send()
        .await
        .expect("signed up");
    let email = smtp.message_to("jane@example.com").await;
    assert!(
        email.contains("From: \"Example App\" <no-reply@app.example>")
            || email.contains("From: Example App <no-reply@app.example>"),
        "{email}"
    );
    assert!(email.contains("Reply-To: help@app.example"), "{email}");
    assert!(email.contains("Subject: Your verification code"), "{email}");
    confirm(&idp, &client_id, "jane", &code_in_email(&email)).await;

    // The invitation carries the temporary password, which signs in.
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("invited")
        .user_attributes(attribute("email", "invited@example.com"))
        .desired_delivery_mediums(aws_sdk_cognitoidentityprovider::types::DeliveryMediumType::Email)
        .send()
        .await
        .expect("invited");
    let invitation = smtp.message_to("invited@example.com").await;
    assert!(
        invitation.contains("Subject: Your temporary password"),
        "{invitation}"
    );
    assert!(
        invitation.contains("Your username is invited"),
        "{invitation}"
    );

    let phone_pool = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("sms")
            .auto_verified_attributes(VerifiedAttributeType::PhoneNumber),
    )
    .await;
    let phone_client = client(&idp, &phone_pool).await;
    let signed_up = idp
        .sign_up()
        .client_id(&phone_client)
        .username("john")
        .password(PASSWORD)
        .user_attributes(attribute("phone_number", "+15555550100"))
        .send()
        .await
        .expect("signed up");
    assert_eq!(
        signed_up
            .code_delivery_details()
            .and_then(|details| details.destination()),
        Some("+*******0100")
    );
    let text = wait_for_events(&texts, 1).await.remove(0);
    assert_eq!(text["request"]["phoneNumber"], "+15555550100");
    assert_eq!(text["userPoolId"], phone_pool.as_str());
    let code = six_digits(text["request"]["message"].as_str().expect("message")).expect("code");
    confirm(&idp, &phone_client, "john", &code).await;
}

each_topology!(
    codes_go_out_by_smtp_and_sms_tests,
    codes_go_out_by_smtp_and_sms
);

/// What the test's Lambda answers: PreSignUp (for SignUp and AdminCreateUser) refuses `denied`
/// and confirms `auto*` users with their email verified; CustomMessage rewrites the email;
/// PostConfirmation just answers.
fn handle(event: &serde_json::Value) -> serde_json::Value {
    let mut reply = event.clone();
    let source = event["triggerSource"].as_str().unwrap_or_default();
    let username = event["userName"].as_str().unwrap_or_default();
    if source.starts_with("PreSignUp_") {
        if username == "denied" {
            return json!({"errorType": "Error", "errorMessage": "no thanks"});
        }
        let auto = username.starts_with("auto");
        reply["response"] =
            json!({"autoConfirmUser": auto, "autoVerifyEmail": auto, "autoVerifyPhone": false});
    } else if source.starts_with("CustomMessage_") {
        reply["response"]["emailSubject"] = json!("Welcome to Example");
        reply["response"]["emailMessage"] = json!(format!(
            "Hello {}, your code is {}!",
            event["request"]["userAttributes"]["email"]
                .as_str()
                .unwrap_or_default(),
            event["request"]["codeParameter"]
                .as_str()
                .unwrap_or_default()
        ));
    }
    reply
}

/// A refused sign-up or creation leaves nothing behind.
async fn assert_no_user(idp: &Client, pool_id: &str, username: &str) {
    let nothing = idp
        .admin_get_user()
        .user_pool_id(pool_id)
        .username(username)
        .send()
        .await
        .expect_err("a refused user leaves nothing behind");
    assert_eq!(error_code(&nothing), "UserNotFoundException");
}

fn trigger_sources(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| event["triggerSource"].as_str())
        .collect()
}

async fn triggers_shape_sign_up(topology: Topology) {
    let function = format!("accounts-{}", uuid::Uuid::new_v4().simple());
    let events = nats_handler(&format!("cognate.trigger.{function}"), handle).await;
    let sandbox = Sandbox::start_dev(topology).await.expect("sandbox starts");
    let idp = sandbox.idp();
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("triggered")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .lambda_config(
                LambdaConfigType::builder()
                    .pre_sign_up(&arn)
                    .custom_message(&arn)
                    .post_confirmation(&arn)
                    .build(),
            ),
    )
    .await;
    let client_id = client(&idp, &pool_id).await;
    let sign_up = |username: &'static str| {
        idp.sign_up()
            .client_id(&client_id)
            .username(username)
            .password(PASSWORD)
            .user_attributes(attribute("email", &format!("{username}@example.com")))
            .validation_data(attribute("captcha", "ok"))
            .client_metadata("origin", "test")
            .send()
    };

    let denied = sign_up("denied").await.expect_err("PreSignUp refuses");
    assert_eq!(error_code(&denied), "UserLambdaValidationException");
    assert_no_user(&idp, &pool_id, "denied").await;

    let auto = sign_up("automatic").await.expect("signed up");
    assert!(auto.user_confirmed());
    assert!(auto.code_delivery_details().is_none());
    let user = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("automatic")
        .send()
        .await
        .expect("user");
    assert_eq!(user.user_status(), Some(&UserStatusType::Confirmed));
    assert!(
        user.user_attributes()
            .iter()
            .any(|attribute| attribute.name() == "email_verified"
                && attribute.value() == Some("true"))
    );

    let manual = sign_up("manual").await.expect("signed up");
    assert!(!manual.user_confirmed());
    let (_, outbox) = sandbox
        .dev_outbox(&pool_id, "manual")
        .await
        .expect("outbox");
    assert_eq!(outbox[0]["subject"], "Welcome to Example");
    let body = outbox[0]["body"].as_str().expect("body");
    assert!(
        body.starts_with("Hello manual@example.com, your code is "),
        "{body}"
    );
    let code = six_digits(body).expect("the code replaced the placeholder");
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("manual")
        .confirmation_code(code)
        .client_metadata("step", "confirm")
        .send()
        .await
        .expect("confirmed");

    let received = wait_for_events(&events, 5).await;
    let sources = trigger_sources(&received);
    assert_eq!(
        sources,
        [
            "PreSignUp_SignUp",
            "PreSignUp_SignUp",
            "PreSignUp_SignUp",
            "CustomMessage_SignUp",
            "PostConfirmation_ConfirmSignUp"
        ]
    );
    let pre_sign_up = &received[2];
    assert_eq!(pre_sign_up["request"]["validationData"]["captcha"], "ok");
    assert_eq!(pre_sign_up["request"]["clientMetadata"]["origin"], "test");
    assert_eq!(pre_sign_up["callerContext"]["clientId"], client_id.as_str());
    assert_eq!(
        pre_sign_up["request"]["userAttributes"]["email"],
        "manual@example.com"
    );
    let confirmed = &received[4];
    assert_eq!(confirmed["request"]["clientMetadata"]["step"], "confirm");
    assert_eq!(
        confirmed["request"]["userAttributes"]["cognito:user_status"],
        "CONFIRMED"
    );
    assert_eq!(
        confirmed["request"]["userAttributes"]["email_verified"],
        "true"
    );
}

each_topology!(triggers_shape_sign_up_tests, triggers_shape_sign_up);

/// PreSignUp_AdminCreateUser: a refusal stores nothing and answers
/// UserLambdaValidationException, auto-verification marks the email verified (the user still
/// has to change the temporary password), `ValidationData` and `ClientMetadata` reach the
/// handler; AdminResetUserPassword's code goes through CustomMessage_ForgotPassword with its
/// `ClientMetadata`.
async fn triggers_shape_admin_create_user(topology: Topology) {
    let function = format!("admin-{}", uuid::Uuid::new_v4().simple());
    let events = nats_handler(&format!("cognate.trigger.{function}"), handle).await;
    let sandbox = Sandbox::start_dev(topology).await.expect("sandbox starts");
    let idp = sandbox.idp();
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{function}");
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool().pool_name("triggered").lambda_config(
            LambdaConfigType::builder()
                .pre_sign_up(&arn)
                .custom_message(&arn)
                .build(),
        ),
    )
    .await;
    let create = |username: &'static str| {
        idp.admin_create_user()
            .user_pool_id(&pool_id)
            .username(username)
            .user_attributes(attribute("email", &format!("{username}@example.com")))
            .validation_data(attribute("ticket", "42"))
            .client_metadata("origin", "console")
            .message_action(MessageActionType::Suppress)
            .send()
    };
    let denied = create("denied").await.expect_err("PreSignUp refuses");
    assert_eq!(error_code(&denied), "UserLambdaValidationException");
    assert_no_user(&idp, &pool_id, "denied").await;

    let created = create("automatic")
        .await
        .expect("created")
        .user
        .expect("user");
    assert_eq!(
        created.user_status(),
        Some(&UserStatusType::ForceChangePassword)
    );
    assert!(
        created
            .attributes()
            .iter()
            .any(|attribute| attribute.name() == "email_verified"
                && attribute.value() == Some("true"))
    );
    let manual = create("manual").await.expect("created").user.expect("user");
    assert!(
        !manual
            .attributes()
            .iter()
            .any(|attribute| attribute.name() == "email_verified"),
        "the handler verified nothing"
    );

    cognate_tests::confirmed_user(&idp, &pool_id, "reset", PASSWORD).await;
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("reset")
        .user_attributes(attribute("email", "reset@example.com"))
        .user_attributes(attribute("email_verified", "true"))
        .send()
        .await
        .expect("email set");
    idp.admin_reset_user_password()
        .user_pool_id(&pool_id)
        .username("reset")
        .client_metadata("reason", "audit")
        .send()
        .await
        .expect("reset");
    let (_, outbox) = sandbox.dev_outbox(&pool_id, "reset").await.expect("outbox");
    let body = outbox[0]["body"].as_str().expect("body");
    assert!(
        body.starts_with("Hello reset@example.com, your code is "),
        "{body}"
    );

    let received = wait_for_events(&events, 5).await;
    let sources = trigger_sources(&received);
    assert_eq!(
        sources,
        [
            "PreSignUp_AdminCreateUser",
            "PreSignUp_AdminCreateUser",
            "PreSignUp_AdminCreateUser",
            "PreSignUp_AdminCreateUser",
            "CustomMessage_ForgotPassword",
        ]
    );
    let pre_sign_up = &received[1];
    assert_eq!(pre_sign_up["userName"], "automatic");
    assert_eq!(pre_sign_up["request"]["validationData"]["ticket"], "42");
    assert_eq!(
        pre_sign_up["request"]["clientMetadata"]["origin"],
        "console"
    );
    assert_eq!(
        pre_sign_up["callerContext"]["clientId"],
        "CLIENT_ID_NOT_APPLICABLE"
    );
    assert_eq!(
        pre_sign_up["request"]["userAttributes"]["email"],
        "automatic@example.com"
    );
    assert_eq!(received[4]["request"]["clientMetadata"]["reason"], "audit");
}

each_topology!(
    triggers_shape_admin_create_user_tests,
    triggers_shape_admin_create_user
);

/// Opens a custom sender's code: base64(nonce ‖ ciphertext ‖ tag), AES-256-GCM, the pool id as
/// associated data (the scheme the README documents).
fn open_code(sealed: &str, pool_id: &str) -> String {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .expect("base64");
    let (nonce, ciphertext) = bytes.split_at(12);
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &SENDER_KEY).expect("key"));
    let mut buffer = ciphertext.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).expect("nonce"),
            Aad::from(pool_id.as_bytes()),
            &mut buffer,
        )
        .expect("opens with the key and the pool id");
    String::from_utf8(plain.to_vec()).expect("text")
}

async fn custom_senders_get_the_code_encrypted(topology: Topology) {
    let function = format!("sender-{}", uuid::Uuid::new_v4().simple());
    let events = nats_handler(&format!("cognate.trigger.{function}"), |event| {
        event.clone()
    })
    .await;
    // Not development mode and no SMTP server: the custom sender is the only way out.
    let sandbox = Sandbox::start_configured(topology, |config| {
        config.sender_keys.insert(
            KEY_ID.into(),
            cognate_common::config::Secret::new(
                base64::engine::general_purpose::STANDARD.encode(SENDER_KEY),
            ),
        );
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("custom-sender")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .lambda_config(
                LambdaConfigType::builder()
                    .custom_email_sender(
                        CustomEmailLambdaVersionConfigType::builder()
                            .lambda_version("V1_0".into())
                            .lambda_arn(format!(
                                "arn:aws:lambda:us-east-1:123456789012:function:{function}"
                            ))
                            .build()
                            .expect("config"),
                    )
                    .kms_key_id(KEY_ID)
                    .build(),
            ),
    )
    .await;
    let client_id = client(&idp, &pool_id).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("jane")
        .password(PASSWORD)
        .user_attributes(attribute("email", "jane@example.com"))
        .send()
        .await
        .expect("signed up");
    let event = wait_for_events(&events, 1).await.remove(0);
    assert_eq!(event["triggerSource"], "CustomEmailSender_SignUp");
    assert_eq!(event["request"]["type"], "customEmailSenderRequestV1");
    assert_eq!(
        event["request"]["userAttributes"]["email"],
        "jane@example.com"
    );
    let sealed = event["request"]["code"].as_str().expect("a code");
    let code = open_code(sealed, &pool_id);
    confirm(&idp, &client_id, "jane", &code).await;
}

each_topology!(
    custom_senders_get_the_code_encrypted_tests,
    custom_senders_get_the_code_encrypted
);

/// A private CA and a certificate it signed for 127.0.0.1, made with the openssl command.
struct Certificates {
    dir: cognate_tests::ScratchDir,
}

impl Certificates {
    fn make() -> Self {
        let dir = cognate_tests::ScratchDir::new();
        std::fs::create_dir_all(&dir.0).expect("certificate directory");
        std::fs::write(dir.0.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("san");
        let openssl = |arguments: &str| {
            let status = std::process::Command::new("openssl")
                .args(arguments.split_whitespace())
                .current_dir(&dir.0)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl runs (scripts/test checks it is installed)");
            assert!(status.success(), "openssl {arguments}");
        };
        openssl(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
             -out ca.pem -subj /CN=Cognate-test-CA -days 2 \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        );
        openssl(
            "req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key \
             -out server.csr -subj /CN=127.0.0.1",
        );
        openssl(
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
             -days 2 -extfile san.cnf",
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.0.join(name)
    }
}

/// Sends a sign-up code through a sandbox configured with `smtp_url` (and the test CA when
/// `trust`); the code arrives, or SignUp fails with CodeDeliveryFailureException.
async fn sign_up_through(
    topology: Topology,
    smtp_url: String,
    ca: Option<std::path::PathBuf>,
    email: &str,
) -> Result<(), String> {
    let sandbox = Sandbox::start_configured(topology, |config| {
        config.smtp_url = Some(cognate_common::config::Secret::new(smtp_url));
        config.smtp_ca_file = ca;
    })
    .await
    .expect("sandbox starts");
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("secure-mail")
            .auto_verified_attributes(VerifiedAttributeType::Email),
    )
    .await;
    let client_id = client(&idp, &pool_id).await;
    idp.sign_up()
        .client_id(&client_id)
        .username(email)
        .password(PASSWORD)
        .user_attributes(attribute("email", email))
        .send()
        .await
        .map(|_| ())
        .map_err(|error| error_code(&error))
}

async fn email_goes_over_tls_with_a_login(topology: Topology) {
    let certificates = Certificates::make();
    let (certificate, key) = (
        certificates.path("server.pem"),
        certificates.path("server.key"),
    );
    let starttls = SmtpServer::start_with(Security::Tls {
        implicit: false,
        certificate: &certificate,
        key: &key,
    })
    .await;
    let implicit = SmtpServer::start_with(Security::Tls {
        implicit: true,
        certificate: &certificate,
        key: &key,
    })
    .await;
    let ca = Some(certificates.path("ca.pem"));
    let url = |server: &SmtpServer, scheme: &str, password: &str, query: &str| {
        format!(
            "{scheme}://cognate:{password}@127.0.0.1:{}{query}",
            server.port
        )
    };

    // STARTTLS, required, with the right login: delivered.
    sign_up_through(
        topology,
        url(&starttls, "smtp", "s3cret", "?tls=required"),
        ca.clone(),
        "a@example.com",
    )
    .await
    .expect("sent over STARTTLS");
    assert!(code_in_email(&starttls.message_to("a@example.com").await).len() == 6);
    // Opportunistic STARTTLS (the default) and implicit TLS work too.
    sign_up_through(
        topology,
        url(&starttls, "smtp", "s3cret", ""),
        ca.clone(),
        "b@example.com",
    )
    .await
    .expect("sent with opportunistic STARTTLS");
    starttls.message_to("b@example.com").await;
    sign_up_through(
        topology,
        url(&implicit, "smtps", "s3cret", ""),
        ca.clone(),
        "c@example.com",
    )
    .await
    .expect("sent over implicit TLS");
    implicit.message_to("c@example.com").await;

    // A wrong login, or a certificate nobody vouches for, is a delivery failure.
    assert_eq!(
        sign_up_through(
            topology,
            url(&implicit, "smtps", "wrong", ""),
            ca.clone(),
            "d@example.com"
        )
        .await,
        Err("CodeDeliveryFailureException".to_owned())
    );
    assert_eq!(
        sign_up_through(
            topology,
            url(&starttls, "smtp", "s3cret", "?tls=required"),
            None,
            "e@example.com"
        )
        .await,
        Err("CodeDeliveryFailureException".to_owned())
    );
}

each_topology!(
    email_goes_over_tls_with_a_login_tests,
    email_goes_over_tls_with_a_login
);
