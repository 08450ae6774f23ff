//! Messages for codes: Cognito's templates and placeholders, masked destinations, and the dev
//! outbox that records every message in development mode. Sending is in `delivery`.

use serde_json::{Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::internal::v1 as internal;

use crate::Directory;

/// Cognito's default verification message and subject.
pub const DEFAULT_MESSAGE: &str = "Your verification code is {####}. ";
pub const DEFAULT_SUBJECT: &str = "Your verification code";
/// Cognito's defaults for MFA sign-in codes.
const DEFAULT_AUTHENTICATION_MESSAGE: &str = "Your authentication code is {####}. ";
const DEFAULT_AUTHENTICATION_SUBJECT: &str = "Your authentication code";
/// Cognito's defaults for CONFIRM_WITH_LINK.
const DEFAULT_LINK_MESSAGE: &str =
    "Please click the link below to verify your email address. {##Verify Email##} ";
const DEFAULT_LINK_SUBJECT: &str = "Your verification link";

/// Cognito's default invitation and its subject.
pub const DEFAULT_INVITATION: &str =
    "Your username is {username} and temporary password is {####}. ";
pub const DEFAULT_INVITATION_SUBJECT: &str = "Your temporary password";

/// How many messages the outbox lists at most.
const OUTBOX_LIMIT: i64 = 100;

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn of_attribute(attribute: &str) -> Self {
        if attribute == "phone_number" {
            Channel::Sms
        } else {
            Channel::Email
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
        }
    }
}

/// Why a message is sent: Cognito names the CustomMessage trigger source after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    SignUp,
    ResendCode,
    ForgotPassword,
    UpdateUserAttribute,
    VerifyUserAttribute,
    AdminCreateUser,
    Authentication,
}

impl MessageKind {
    /// The suffix of Cognito's trigger sources, as in `CustomMessage_SignUp`.
    pub fn source_suffix(self) -> &'static str {
        match self {
            MessageKind::SignUp => "SignUp",
            MessageKind::ResendCode => "ResendCode",
            MessageKind::ForgotPassword => "ForgotPassword",
            MessageKind::UpdateUserAttribute => "UpdateUserAttribute",
            MessageKind::VerifyUserAttribute => "VerifyUserAttribute",
            MessageKind::AdminCreateUser => "AdminCreateUser",
            MessageKind::Authentication => "Authentication",
        }
    }
}

/// The context of a code message: why it is sent, and for whom.
#[derive(Debug, Clone, Copy)]
pub struct MessageRequest<'a> {
    pub kind: MessageKind,
    /// The caller's `ClientMetadata`, passed to the CustomMessage trigger.
    pub client_metadata: &'a Json,
    /// The app client the request came through; none for admin operations.
    pub client_id: Option<&'a str>,
}

/// A message ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    pub destination: String,
    pub subject: String,
    pub body: String,
    /// An email whose template is HTML (or has a link): it goes out as HTML, and the values put
    /// into it were escaped.
    pub html: bool,
}

fn text<'a>(pool: &'a Json, candidates: &[&[&str]]) -> Option<&'a str> {
    candidates.iter().find_map(|path| {
        path.iter()
            .try_fold(pool, |value, key| value.get(*key))
            .and_then(Json::as_str)
            .filter(|text| !text.is_empty())
    })
}

/// A message before its placeholders (`{####}`, `{username}`, and `{##link text##}` in link
/// messages) are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub body: String,
    /// Where `{##link text##}` points (CONFIRM_WITH_LINK).
    pub link: Option<String>,
}

impl Template {
    /// The message with the code and username in place of Cognito's placeholders.
    pub fn render(
        &self,
        channel: Channel,
        destination: &str,
        code: &str,
        username: &str,
    ) -> Message {
        let html =
            channel == Channel::Email && (self.link.is_some() || looks_like_html(&self.body));
        // A username or a temporary password is the user's or a generator's text, never markup:
        // in an HTML body it is escaped, so `<a href=...>` as a username is shown, not followed.
        let (code, username) = if html {
            (escape_html(code), escape_html(username))
        } else {
            (code.to_owned(), username.to_owned())
        };
        let fill = |text: &str, html: bool| {
            let filled = text
                .replace("{####}", &code)
                .replace("{username}", &username);
            match &self.link {
                Some(link) if html => fill_links(&filled, &escape_html(link)),
                _ => filled,
            }
        };
        Message {
            channel,
            destination: destination.to_owned(),
            // A subject is never HTML; it only gets the values, unescaped.
            subject: fill(&self.subject, false),
            body: fill(&self.body, html),
            html,
        }
    }
}

/// The pool's verification template for `channel`, or Cognito's default.
pub fn verification_template(pool: &Json, channel: Channel) -> Template {
    let (body, subject) = match channel {
        Channel::Email => (
            text(
                pool,
                &[
                    &["VerificationMessageTemplate", "EmailMessage"],
                    &["EmailVerificationMessage"],
                ],
            ),
            text(
                pool,
                &[
                    &["VerificationMessageTemplate", "EmailSubject"],
                    &["EmailVerificationSubject"],
                ],
            )
            .unwrap_or(DEFAULT_SUBJECT),
        ),
        Channel::Sms => (
            text(
                pool,
                &[
                    &["VerificationMessageTemplate", "SmsMessage"],
                    &["SmsVerificationMessage"],
                ],
            ),
            "",
        ),
    };
    Template {
        subject: subject.to_owned(),
        body: body.unwrap_or(DEFAULT_MESSAGE).to_owned(),
        link: None,
    }
}

/// The pool's message for an MFA sign-in code (`SmsAuthenticationMessage`,
/// `EmailMfaConfiguration`), or Cognito's default.
pub fn authentication_template(pool: &Json, channel: Channel) -> Template {
    let (body, subject) = match channel {
        Channel::Sms => (text(pool, &[&["SmsAuthenticationMessage"]]), None),
        Channel::Email => (
            text(pool, &[&["EmailMfaConfiguration", "Message"]]),
            text(pool, &[&["EmailMfaConfiguration", "Subject"]]),
        ),
    };
    Template {
        subject: subject.unwrap_or(DEFAULT_AUTHENTICATION_SUBJECT).to_owned(),
        body: body.unwrap_or(DEFAULT_AUTHENTICATION_MESSAGE).to_owned(),
        link: None,
    }
}

/// The pool's email for confirming a sign-up by link when its `VerificationMessageTemplate`
/// says `CONFIRM_WITH_LINK`, pointing at `link`; `None` when the pool confirms with codes.
pub fn link_template(pool: &Json, link: String) -> Option<Template> {
    let template = &pool["VerificationMessageTemplate"];
    if template["DefaultEmailOption"] != "CONFIRM_WITH_LINK" {
        return None;
    }
    let member = |name: &str, default: &str| {
        template[name]
            .as_str()
            .filter(|text| !text.is_empty())
            .unwrap_or(default)
            .to_owned()
    };
    Some(Template {
        subject: member("EmailSubjectByLink", DEFAULT_LINK_SUBJECT),
        body: member("EmailMessageByLink", DEFAULT_LINK_MESSAGE),
        link: Some(link),
    })
}

/// `{##text##}` becomes a link to `link` that reads `text`.
/// Cognito's messages may be HTML: anything with a tag goes out as HTML, the rest as text.
fn looks_like_html(body: &str) -> bool {
    body.as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || pair[1] == b'/'))
}

/// `text` safe inside HTML content and double-quoted attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn fill_links(text: &str, link: &str) -> String {
    let mut filled = String::with_capacity(text.len() + link.len());
    let mut rest = text;
    while let Some(start) = rest.find("{##") {
        let Some(length) = rest[start + 3..].find("##}") else {
            break;
        };
        let label = &rest[start + 3..start + 3 + length];
        filled.push_str(&rest[..start]);
        filled.push_str(&format!("<a href=\"{link}\">{label}</a>"));
        rest = &rest[start + 3 + length + 3..];
    }
    filled.push_str(rest);
    filled
}

/// The pool's invitation template (AdminCreateUser) for `channel`, or Cognito's default. The
/// temporary password takes the place of `{####}`.
pub fn invitation_template(pool: &Json, channel: Channel) -> Template {
    let invite = &pool["AdminCreateUserConfig"]["InviteMessageTemplate"];
    let member = |name: &str| {
        invite[name]
            .as_str()
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let body = match channel {
        Channel::Email => member("EmailMessage"),
        Channel::Sms => member("SMSMessage"),
    };
    Template {
        subject: member("EmailSubject").unwrap_or_else(|| DEFAULT_INVITATION_SUBJECT.to_owned()),
        body: body.unwrap_or_else(|| DEFAULT_INVITATION.to_owned()),
        link: None,
    }
}

/// A destination as Cognito shows it in `CodeDeliveryDetails`: `j***@e***.com`, `+*******0100`.
pub fn masked(channel: Channel, destination: &str) -> String {
    match channel {
        Channel::Email => {
            let (local, domain) = destination.split_once('@').unwrap_or((destination, ""));
            let first = |text: &str| text.chars().next().map(String::from).unwrap_or_default();
            let tld = domain
                .rsplit_once('.')
                .map(|(_, tld)| format!(".{tld}"))
                .unwrap_or_default();
            format!("{}***@{}***{tld}", first(local), first(domain))
        }
        Channel::Sms => {
            let count = destination.chars().count();
            destination
                .chars()
                .enumerate()
                .map(|(index, c)| {
                    if index == 0 && c == '+' || index + 4 >= count {
                        c
                    } else {
                        '*'
                    }
                })
                .collect()
        }
    }
}

/// Cognito's `CodeDeliveryDetailsType` for a message to `attribute`.
pub fn delivery_details(message: &Message, attribute: &str) -> Json {
    details(message.channel, &message.destination, attribute)
}

/// Cognito's `CodeDeliveryDetailsType` for a message on `channel` to `destination`.
pub fn details(channel: Channel, destination: &str, attribute: &str) -> Json {
    json!({
        "Destination": masked(channel, destination),
        "DeliveryMedium": channel.as_str(),
        "AttributeName": attribute,
    })
}

impl Directory {
    /// Records a message in the dev outbox (development mode only; the caller checks).
    pub(crate) async fn record_in_outbox(
        &self,
        pool_id: &str,
        username: &str,
        message: &Message,
    ) -> CognitoResult<()> {
        sqlx::query(
            "INSERT INTO dev_outbox (id, user_pool_id, username, destination, channel, subject, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(pool_id)
        .bind(username)
        .bind(&message.destination)
        .bind(message.channel.as_str())
        .bind(&message.subject)
        .bind(&message.body)
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        tracing::info!(
            pool_id,
            username,
            channel = message.channel.as_str(),
            "message recorded in the dev outbox"
        );
        Ok(())
    }

    /// The dev outbox, newest first, optionally for one pool and one user (by username, or by
    /// the destination address, handy where the username is a generated sub). Development
    /// mode only.
    pub async fn list_dev_outbox(
        &self,
        pool_id: &str,
        username: &str,
    ) -> CognitoResult<Vec<internal::DevMessage>> {
        if !self.config.development_mode() {
            return Err(CognitoError::not_authorized(
                "The dev outbox is served in development mode only.",
            ));
        }
        let rows = sqlx::query(
            "SELECT user_pool_id, username, destination, channel, subject, body, created_at FROM dev_outbox \
             WHERE ($1 = '' OR user_pool_id = $1) AND ($2 = '' OR username = $2 OR destination = $2) \
             ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(pool_id)
        .bind(username)
        .bind(OUTBOX_LIMIT)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                Ok(internal::DevMessage {
                    user_pool_id: row.read("user_pool_id")?,
                    username: row.read("username")?,
                    destination: row.read("destination")?,
                    channel: row.read("channel")?,
                    subject: row.read("subject")?,
                    body: row.read("body")?,
                    created: epoch_seconds(row.read("created_at")?),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verification_message(pool: &Json, channel: Channel, code: &str) -> Message {
        verification_template(pool, channel).render(channel, "someone", code, "jane")
    }

    #[test]
    fn values_in_html_emails_are_escaped() {
        let pool = json!({"VerificationMessageTemplate": {"EmailMessage": "<p>Hi {username}, your code is {####}</p>"}});
        let template = verification_template(&pool, Channel::Email);
        let message = template.render(
            Channel::Email,
            "x",
            "a&b",
            "<a href=\"https://evil.example\">x</a>",
        );
        assert!(message.html);
        assert_eq!(
            message.body,
            "<p>Hi &lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;, your code is a&amp;b</p>"
        );
        // A plain template stays plain text whatever the username holds: markup in a name
        // can't turn a text message into HTML.
        let plain = verification_template(&json!({}), Channel::Email);
        let message = plain.render(Channel::Email, "x", "123456", "<b>jane</b>");
        assert!(!message.html);
        assert!(message.body.contains("123456"));
        let sms = verification_template(&pool, Channel::Sms);
        assert!(
            !sms.render(Channel::Sms, "x", "1", "<b>").html,
            "SMS is never HTML"
        );
    }

    #[test]
    fn messages_follow_the_pool_templates_or_cognito_defaults() {
        let plain =
            json!({"VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"}});
        let message = verification_message(&plain, Channel::Email, "123456");
        assert_eq!(message.body, "Your verification code is 123456. ");
        assert_eq!(message.subject, "Your verification code");
        let custom = json!({
            "EmailVerificationMessage": "legacy {####}",
            "VerificationMessageTemplate": {"EmailMessage": "Code: {####}!", "EmailSubject": "Hi", "SmsMessage": "sms {####}"},
        });
        let message = verification_message(&custom, Channel::Email, "000042");
        assert_eq!(
            (message.body.as_str(), message.subject.as_str()),
            ("Code: 000042!", "Hi")
        );
        let message = verification_message(&custom, Channel::Sms, "1");
        assert_eq!(message.body, "sms 1");
        let legacy = json!({"EmailVerificationMessage": "legacy {####}"});
        assert_eq!(
            verification_message(&legacy, Channel::Email, "9").body,
            "legacy 9"
        );
    }

    #[test]
    fn destinations_are_masked() {
        assert_eq!(masked(Channel::Email, "jane@example.com"), "j***@e***.com");
        assert_eq!(masked(Channel::Sms, "+15555550100"), "+*******0100");
    }
}
