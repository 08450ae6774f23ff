//! Message delivery for codes: Cognito's verification templates, and the dev outbox that records
//! messages instead of sending them in development mode. Without development mode there is no
//! sender yet (SMTP and SMS senders are issue 5 item 3), so delivery fails with
//! `CodeDeliveryFailureException`.

use serde_json::{Value as Json, json};
use sqlx::Row;

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::internal::v1 as internal;

use crate::Directory;

/// Cognito's default verification message and subject.
pub const DEFAULT_MESSAGE: &str = "Your verification code is {####}. ";
pub const DEFAULT_SUBJECT: &str = "Your verification code";

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

    fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
        }
    }
}

/// A message ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    pub destination: String,
    pub subject: String,
    pub body: String,
}

fn text<'a>(pool: &'a Json, candidates: &[&[&str]]) -> Option<&'a str> {
    candidates.iter().find_map(|path| {
        path.iter()
            .try_fold(pool, |value, key| value.get(*key))
            .and_then(Json::as_str)
            .filter(|text| !text.is_empty())
    })
}

/// The verification message for `code`, from the pool's templates or Cognito's defaults.
pub fn verification_message(
    pool: &Json,
    channel: Channel,
    destination: &str,
    code: &str,
) -> Message {
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
    Message {
        channel,
        destination: destination.to_owned(),
        subject: subject.to_owned(),
        body: body.unwrap_or(DEFAULT_MESSAGE).replace("{####}", code),
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
    json!({
        "Destination": masked(message.channel, &message.destination),
        "DeliveryMedium": message.channel.as_str(),
        "AttributeName": attribute,
    })
}

impl Directory {
    /// Delivers a message: into the dev outbox in development mode; otherwise there is no
    /// sender yet, so it fails as Cognito does when delivery fails.
    pub(crate) async fn deliver(
        &self,
        pool_id: &str,
        username: &str,
        message: &Message,
    ) -> CognitoResult<()> {
        if !self.config.development_mode() {
            return Err(CognitoError::new(
                "CodeDeliveryFailureException",
                "Unable to deliver the message: no email or SMS sender is configured.",
            ));
        }
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
        Ok(rows
            .iter()
            .map(|row| internal::DevMessage {
                user_pool_id: row.get("user_pool_id"),
                username: row.get("username"),
                destination: row.get("destination"),
                channel: row.get("channel"),
                subject: row.get("subject"),
                body: row.get("body"),
                created: epoch_seconds(row.get("created_at")),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_the_pool_templates_or_cognito_defaults() {
        let plain =
            json!({"VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"}});
        let message = verification_message(&plain, Channel::Email, "jane@example.com", "123456");
        assert_eq!(message.body, "Your verification code is 123456. ");
        assert_eq!(message.subject, "Your verification code");
        let custom = json!({
            "EmailVerificationMessage": "legacy {####}",
            "VerificationMessageTemplate": {"EmailMessage": "Code: {####}!", "EmailSubject": "Hi", "SmsMessage": "sms {####}"},
        });
        let message = verification_message(&custom, Channel::Email, "jane@example.com", "000042");
        assert_eq!(
            (message.body.as_str(), message.subject.as_str()),
            ("Code: 000042!", "Hi")
        );
        let message = verification_message(&custom, Channel::Sms, "+15550100", "1");
        assert_eq!(message.body, "sms 1");
        let legacy = json!({"EmailVerificationMessage": "legacy {####}"});
        assert_eq!(
            verification_message(&legacy, Channel::Email, "a@b.c", "9").body,
            "legacy 9"
        );
    }

    #[test]
    fn destinations_are_masked() {
        assert_eq!(masked(Channel::Email, "jane@example.com"), "j***@e***.com");
        assert_eq!(masked(Channel::Sms, "+15555550100"), "+*******0100");
    }
}
