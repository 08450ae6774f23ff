//! Sending code messages as Cognito does: the CustomMessage trigger may rewrite the pool's
//! template; a CustomEmailSender or CustomSMSSender trigger, when configured, receives the code
//! encrypted and delivers it itself; otherwise email goes over SMTP and SMS to the configured
//! SMS sender. In development mode every message is also recorded in the dev outbox. A message
//! nothing can deliver fails with `CodeDeliveryFailureException` before any code is issued.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::{Map, Value as Json, json};

use cognate_common::{CognitoError, CognitoResult, Config, ErrorCode};

use crate::Directory;
use crate::outbox::{Channel, Message, MessageRequest, Template};
use crate::users::User;

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);
/// AES-256-GCM nonce length.
const NONCE_BYTES: usize = 12;

/// The configured ways out: SMTP, the SMS sender and the custom senders' keys.
#[derive(Clone)]
pub struct Senders {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    email_from: String,
    sms_sender: Option<String>,
    /// KMSKeyID → AES-256 key.
    sender_keys: BTreeMap<String, [u8; 32]>,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Senders")
            .field("smtp", &self.smtp.is_some())
            .field("email_from", &self.email_from)
            .field("sms_sender", &self.sms_sender.is_some())
            .field("sender_keys", &self.sender_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The SMTP transport for `url`: `smtps://` speaks TLS from the first byte; `smtp://` upgrades
/// with STARTTLS when the server offers it and insists with `?tls=required`. Server certificates are checked against the web's roots and, when given, the
/// operator's CA.
fn smtp_transport(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    const SHAPE: &str =
        "the SMTP URL is not smtp://[user:password@]host[:port][?tls=required] or smtps://...";
    let parsed = url::Url::parse(url).context(SHAPE)?;
    let host = parsed.host_str().context(SHAPE)?.to_owned();
    let tls_mode = parsed
        .query_pairs()
        .find(|(name, _)| name == "tls")
        .map(|(_, value)| value.into_owned());
    let mut parameters = TlsParameters::builder(host);
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read the SMTP CA file {}", path.display()))?;
        let certificate = Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", path.display()))?;
        parameters = parameters.add_root_certificate(certificate);
    }
    let parameters = parameters.build_rustls().context("SMTP TLS settings")?;
    let tls = match (parsed.scheme(), tls_mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper(parameters),
        ("smtp", Some("required")) => Tls::Required(parameters),
        ("smtp", None | Some("opportunistic")) => Tls::Opportunistic(parameters),
        _ => anyhow::bail!(SHAPE),
    };
    // lettre's URL parser reads the port, credentials and HELO name; the TLS mode is ours.
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .context(SHAPE)?
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT))
        .build())
}

impl Senders {
    /// Checks and builds the senders; a bad URL or key stops the start.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let smtp = config
            .smtp_url
            .as_ref()
            .map(|url| smtp_transport(url.expose(), config.smtp_ca_file.as_deref()))
            .transpose()?;
        config.email_from.parse::<Mailbox>().with_context(|| {
            format!("the email sender `{}` is not an address", config.email_from)
        })?;
        let mut sender_keys = BTreeMap::new();
        for (key_id, key) in &config.sender_keys {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.expose())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .with_context(|| {
                    format!("the sender key for {key_id} is not 32 bytes in base64")
                })?;
            sender_keys.insert(key_id.clone(), bytes);
        }
        Ok(Self {
            smtp,
            email_from: config.email_from.clone(),
            sms_sender: config.sms_sender.clone(),
            sender_keys,
        })
    }

    /// No senders: development mode's outbox is the only way out.
    pub fn none() -> Self {
        Self {
            smtp: None,
            email_from: Config::default().email_from,
            sms_sender: None,
            sender_keys: BTreeMap::new(),
        }
    }
}

/// The pool's custom sender trigger for `channel`, if it has one.
fn custom_sender(pool: &Json, channel: Channel) -> Option<&str> {
    let name = match channel {
        Channel::Email => "CustomEmailSender",
        Channel::Sms => "CustomSMSSender",
    };
    pool["LambdaConfig"][name]["LambdaArn"]
        .as_str()
        .filter(|arn| !arn.is_empty())
}

fn delivery_failure(reason: impl std::fmt::Display) -> CognitoError {
    CognitoError::new(
        ErrorCode::CodeDeliveryFailureException,
        format!("Unable to deliver the message: {reason}"),
    )
}

/// The code for a custom sender: AES-256-GCM under the pool's key, the pool id as associated
/// data, sent as base64(nonce ‖ ciphertext ‖ tag).
pub fn encrypt_code(key: &[u8; 32], pool_id: &str, code: &str) -> CognitoResult<String> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let sealing = UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|error| cognate_common::error::internal("sender key", error))?;
    let mut nonce = [0u8; NONCE_BYTES];
    aws_lc_rs::rand::fill(&mut nonce)
        .map_err(|error| cognate_common::error::internal("random nonce", error))?;
    let mut sealed = code.as_bytes().to_vec();
    sealing
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(pool_id.as_bytes()),
            &mut sealed,
        )
        .map_err(|error| cognate_common::error::internal("sealing a code", error))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Cognito's `userAttributes` map of a trigger event.
pub fn attribute_map(attributes: &[Json]) -> Map<String, Json> {
    attributes
        .iter()
        .filter_map(|attribute| {
            Some((
                attribute["Name"].as_str()?.to_owned(),
                attribute["Value"].clone(),
            ))
        })
        .collect()
}

impl Directory {
    /// Fails unless a message on `channel` from this pool can go somewhere.
    pub(crate) fn ensure_deliverable(&self, pool: &Json, channel: Channel) -> CognitoResult<()> {
        let sender_configured = match channel {
            Channel::Email => self.senders.smtp.is_some(),
            Channel::Sms => self.senders.sms_sender.is_some(),
        };
        if self.config.development_mode()
            || sender_configured
            || custom_sender(pool, channel).is_some()
        {
            return Ok(());
        }
        Err(delivery_failure(match channel {
            Channel::Email => "no email sender is configured.",
            Channel::Sms => "no SMS sender is configured.",
        }))
    }

    /// Delivers `code` to `destination` from `template`, through the triggers the pool
    /// configures and the configured senders.
    #[allow(clippy::too_many_arguments)] // The message's parts, each of them needed.
    pub(crate) async fn deliver_code(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        channel: Channel,
        destination: &str,
        template: Template,
        code: &str,
        request: MessageRequest<'_>,
    ) -> CognitoResult<Message> {
        let template = self
            .custom_message(pool_id, pool, user, channel, template, request)
            .await?;
        let message = template.render(channel, destination, code, &user.username);
        if self.config.development_mode() {
            self.record_in_outbox(pool_id, &user.username, &message)
                .await?;
        }
        if let Some(target) = custom_sender(pool, channel) {
            self.custom_sender(pool_id, pool, user, channel, target, code, request)?;
            return Ok(message);
        }
        match channel {
            Channel::Email => self.send_email(pool, &message).await?,
            Channel::Sms => self.send_sms(pool_id, user, &message).await?,
        }
        Ok(message)
    }

    /// The CustomMessage trigger may replace the subject and the message; its text keeps the
    /// placeholders, which are filled in afterwards.
    async fn custom_message(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        channel: Channel,
        template: Template,
        request: MessageRequest<'_>,
    ) -> CognitoResult<Template> {
        let Some(target) = pool["LambdaConfig"]["CustomMessage"]
            .as_str()
            .filter(|target| !target.is_empty())
        else {
            return Ok(template);
        };
        let reply = self
            .invoke_trigger(
                target,
                "CustomMessage",
                &format!("CustomMessage_{}", request.kind.source_suffix()),
                pool_id,
                &user.username,
                request.client_id,
                json!({
                    "userAttributes": attribute_map(&user.attributes),
                    "codeParameter": "{####}",
                    "linkParameter": "{##Click Here##}",
                    "usernameParameter": "{username}",
                    "clientMetadata": request.client_metadata,
                }),
                json!({"smsMessage": null, "emailMessage": null, "emailSubject": null}),
            )
            .await?;
        let answered = |member: &str| {
            reply["response"][member]
                .as_str()
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        Ok(match channel {
            Channel::Email => Template {
                subject: answered("emailSubject").unwrap_or(template.subject),
                body: answered("emailMessage").unwrap_or(template.body),
                link: template.link,
            },
            Channel::Sms => Template {
                subject: template.subject,
                body: answered("smsMessage").unwrap_or(template.body),
                link: template.link,
            },
        })
    }

    /// CustomEmailSender / CustomSMSSender: Cognito calls them asynchronously, so the request
    /// does not wait; a failure is logged.
    #[allow(clippy::too_many_arguments)] // The event's parts, each of them needed.
    fn custom_sender(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        channel: Channel,
        target: &str,
        code: &str,
        request: MessageRequest<'_>,
    ) -> CognitoResult<()> {
        let key_id = pool["LambdaConfig"]["KMSKeyID"]
            .as_str()
            .unwrap_or_default();
        let Some(key) = self.senders.sender_keys.get(key_id) else {
            return Err(delivery_failure(format!(
                "no sender key is configured for the pool's KMSKeyID {key_id:?}."
            )));
        };
        let (name, request_type) = match channel {
            Channel::Email => ("CustomEmailSender", "customEmailSenderRequestV1"),
            Channel::Sms => ("CustomSMSSender", "customSMSSenderRequestV1"),
        };
        let event_request = json!({
            "type": request_type,
            "code": encrypt_code(key, pool_id, code)?,
            "clientMetadata": request.client_metadata,
            "userAttributes": attribute_map(&user.attributes),
        });
        let directory = self.clone();
        let source = format!("{name}_{}", request.kind.source_suffix());
        let (target, pool_id, username) =
            (target.to_owned(), pool_id.to_owned(), user.username.clone());
        let client_id = request.client_id.map(str::to_owned);
        tokio::spawn(async move {
            let sent = directory
                .invoke_trigger(
                    &target,
                    name,
                    &source,
                    &pool_id,
                    &username,
                    client_id.as_deref(),
                    event_request,
                    json!({}),
                )
                .await;
            if let Err(error) = sent {
                tracing::warn!(pool_id, trigger = name, %error, "custom sender failed");
            }
        });
        Ok(())
    }

    async fn send_email(&self, pool: &Json, message: &Message) -> CognitoResult<()> {
        let Some(smtp) = &self.senders.smtp else {
            return self.nothing_sends(Channel::Email);
        };
        let from = pool["EmailConfiguration"]["From"]
            .as_str()
            .filter(|from| !from.is_empty())
            .unwrap_or(&self.senders.email_from);
        let mut builder = lettre::Message::builder()
            .from(from.parse::<Mailbox>().map_err(|_| {
                delivery_failure(format!("the sender {from:?} is not an email address."))
            })?)
            .to(message.destination.parse::<Mailbox>().map_err(|_| {
                delivery_failure(format!(
                    "{:?} is not an email address.",
                    message.destination
                ))
            })?)
            .subject(&message.subject);
        if let Some(reply_to) = pool["EmailConfiguration"]["ReplyToEmailAddress"]
            .as_str()
            .and_then(|address| address.parse::<Mailbox>().ok())
        {
            builder = builder.reply_to(reply_to);
        }
        let content_type = if message.html {
            ContentType::TEXT_HTML
        } else {
            ContentType::TEXT_PLAIN
        };
        let email = builder
            .header(content_type)
            .body(message.body.clone())
            .map_err(delivery_failure)?;
        smtp.send(email).await.map_err(|error| {
            tracing::warn!(%error, "SMTP delivery failed");
            delivery_failure("the email server refused the message.")
        })?;
        Ok(())
    }

    async fn send_sms(&self, pool_id: &str, user: &User, message: &Message) -> CognitoResult<()> {
        let Some(target) = &self.senders.sms_sender else {
            return self.nothing_sends(Channel::Sms);
        };
        self.invoke_trigger(
            target,
            "SMS sender",
            "SMS_Message",
            pool_id,
            &user.username,
            None,
            json!({"phoneNumber": message.destination, "message": message.body}),
            json!({}),
        )
        .await
        .map_err(|error| {
            tracing::warn!(%error, "SMS delivery failed");
            delivery_failure("the SMS sender did not accept the message.")
        })?;
        Ok(())
    }

    /// Without a sender, development mode has already recorded the message; elsewhere
    /// `ensure_deliverable` stops the request before this point.
    fn nothing_sends(&self, channel: Channel) -> CognitoResult<()> {
        if self.config.development_mode() {
            return Ok(());
        }
        Err(delivery_failure(format!(
            "no {} sender is configured.",
            channel.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_sender_codes_open_with_the_key_and_the_pool_id() {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let key = [7u8; 32];
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(encrypt_code(&key, "us-east-1_pool", "123456").expect("sealed"))
            .expect("base64");
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let opening = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
        let open = |pool_id: &str| {
            let mut buffer = ciphertext.to_vec();
            opening
                .open_in_place(
                    Nonce::try_assume_unique_for_key(nonce).expect("nonce"),
                    Aad::from(pool_id.as_bytes()),
                    &mut buffer,
                )
                .map(|plain| plain.to_vec())
        };
        assert_eq!(open("us-east-1_pool").expect("opens"), b"123456");
        assert!(open("us-east-1_other").is_err());
    }

    #[test]
    fn a_bad_smtp_url_or_key_stops_the_start() {
        let config = Config {
            smtp_url: Some(cognate_common::config::Secret::new("http://mail")),
            ..Config::default()
        };
        assert!(Senders::from_config(&config).is_err());
        let mut config = Config::default();
        config.sender_keys.insert(
            "arn:aws:kms:us-east-1:1:key/k".into(),
            cognate_common::config::Secret::new("c2hvcnQ="),
        );
        assert!(Senders::from_config(&config).is_err());
        let config = Config {
            smtp_url: Some(cognate_common::config::Secret::new(
                "smtp://user:pass@127.0.0.1:2525",
            )),
            ..Config::default()
        };
        assert!(Senders::from_config(&config).is_ok());
    }
}
