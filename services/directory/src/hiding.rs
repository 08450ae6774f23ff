//! `PreventUserExistenceErrors=ENABLED` for the self-service calls: unknown users get the
//! answers known users get (a simulated `CodeDeliveryDetails`, `CodeMismatchException`), and the
//! same work: a decoy code is issued or checked in the store where a real one would be, and the
//! real message goes out after the answer, so neither the shape nor the time of a response tells
//! whether the user exists.

use serde_json::{Value as Json, json};

use cognate_common::error::internal;
use cognate_common::sealing::SealedColumns;
use cognate_common::store::Columns;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};

use crate::Directory;
use crate::codes::Purpose;
use crate::outbox::{self, Channel, MessageRequest, Template};
use crate::users::User;

/// Decoy codes are issued to `decoy:<hash of the name>`; no user has such a sub (subs are UUIDs).
const DECOY_PREFIX: &str = "decoy:";
/// The secret fake destinations are derived with; one per installation.
const SECRET_NAME: &str = "existence-hiding";

/// Installation secrets are sealed at rest, each bound to its name.
pub const DIRECTORY_SECRETS: SealedColumns = SealedColumns {
    table: "directory_secrets",
    key: &["name"],
    binding: &["name"],
    sealed: &["value"],
};

/// Whether the app client hides which users exist.
pub fn hides_existence(client: &Json) -> bool {
    client["PreventUserExistenceErrors"] == "ENABLED"
}

/// Where most people's mail is, the commonest more than once: a simulated address is at one of
/// them, so its masked domain (`g***.com`) is what real users' mostly are.
const MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "yahoo.com",
    "hotmail.com",
    "hotmail.com",
    "outlook.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "protonmail.com",
    "msn.com",
];

/// First letters of addresses, each about as often as it begins a given name: uniform letters
/// would give away simulated ones by their `q`s, `x`s and `z`s.
const INITIALS: &[u8] =
    b"aaaaaaaabbbbbcccccccdddddeeeeffgghhhhiijjjjjjjjkkkkkllllllmmmmmmmmnnnooppprrrrrsssssssttttuvwwxyz";

/// A masked destination for an unknown user that looks like a real one and stays the same for
/// the same pool and name. It is a plausible address or number masked by the very function
/// that masks real ones, so the format cannot differ: an email-shaped name is itself (in
/// email-as-username pools that is what a real user sees); otherwise an address at a common
/// provider, or a North American number (`+1`, ten digits: the commonest length), derived with
/// the installation's secret so that it cannot be told from a real user's.
fn fake_destination(secret: &[u8], pool_id: &str, name: &str, channel: Channel) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, format!("{pool_id}\n{name}").as_bytes());
    let bytes = tag.as_ref();
    let pick = |index: usize, count: usize| usize::from(bytes[index]) % count;
    let address = match channel {
        Channel::Email if name.contains('@') => name.to_owned(),
        Channel::Email => format!(
            "{}@{}",
            char::from(INITIALS[pick(0, INITIALS.len())]),
            MAIL_DOMAINS[pick(1, MAIL_DOMAINS.len())]
        ),
        Channel::Sms => {
            // NANP: area code and exchange start with 2–9.
            let digit = |index: usize| char::from(b'0' + bytes[index] % 10);
            let leading = |index: usize| char::from(b'2' + bytes[index] % 8);
            let number: String = (2..12)
                .map(|index| match index {
                    2 | 5 => leading(index),
                    _ => digit(index),
                })
                .collect();
            format!("+1{number}")
        }
    };
    outbox::masked(channel, &address)
}

/// The attribute a code on `channel` goes to.
fn channel_attribute(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "phone_number",
    }
}

impl Directory {
    async fn hiding_secret(&self) -> CognitoResult<Vec<u8>> {
        let secret = self
            .hiding_secret
            .get_or_try_init(|| async {
                let mut candidate = [0u8; 32];
                aws_lc_rs::rand::fill(&mut candidate)
                    .map_err(|error| internal("random secret", error))?;
                let sealed = DIRECTORY_SECRETS
                    .seal(&self.sealer, &hex::encode(candidate), &[SECRET_NAME])
                    .map_err(|error| internal("sealing the hiding secret failed", error))?;
                // Replicas starting together race here: the first secret stored is everyone's.
                sqlx::query(
                    "INSERT INTO directory_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(SECRET_NAME)
                .bind(sealed)
                .execute(&self.db)
                .await
                .map_err(store_error)?;
                let stored = sqlx::query("SELECT value FROM directory_secrets WHERE name = $1")
                    .bind(SECRET_NAME)
                    .fetch_one(&self.db)
                    .await
                    .map_err(store_error)?;
                // A secret stored before sealing is plaintext hex and reads as it is.
                let opened = DIRECTORY_SECRETS
                    .open(&self.sealer, &stored.read::<String>("value")?, &[SECRET_NAME])
                    .map_err(|error| internal("the stored hiding secret does not open", error))?;
                hex::decode(opened).map_err(|error| internal("stored secret", error))
            })
            .await?;
        Ok(secret.clone())
    }

    /// What a known user would be told, for an unknown one: a code issued (to the decoy) and
    /// a plausible destination on `channel`.
    pub(crate) async fn simulated_delivery(
        &self,
        pool_id: &str,
        name: &str,
        purpose: Purpose,
        channel: Channel,
    ) -> CognitoResult<Json> {
        let attribute = channel_attribute(channel);
        let sub = self.decoy_sub(pool_id, name).await?;
        self.issue_code(pool_id, &sub, purpose, attribute, "")
            .await?;
        self.simulated_destination(pool_id, name, channel).await
    }

    /// A plausible `CodeDeliveryDetails` on `channel` for `name`, stable per pool and name.
    pub(crate) async fn simulated_destination(
        &self,
        pool_id: &str,
        name: &str,
        channel: Channel,
    ) -> CognitoResult<Json> {
        let secret = self.hiding_secret().await?;
        Ok(json!({
            "Destination": fake_destination(&secret, pool_id, name, channel),
            "DeliveryMedium": channel.as_str(),
            "AttributeName": channel_attribute(channel),
        }))
    }

    /// The decoy an unknown name's codes are issued to and checked against: one per name, so
    /// attempts count and lock as they would for a real user.
    async fn decoy_sub(&self, pool_id: &str, name: &str) -> CognitoResult<String> {
        let secret = self.hiding_secret().await?;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
        let tag = aws_lc_rs::hmac::sign(&key, format!("decoy\n{pool_id}\n{name}").as_bytes());
        Ok(format!(
            "{DECOY_PREFIX}{}",
            hex::encode(&tag.as_ref()[..16])
        ))
    }

    /// A code check for an unknown user: the store work and the answers of a real one
    /// (`CodeMismatchException`, then `LimitExceededException` after too many attempts).
    pub(crate) async fn decoy_redemption(
        &self,
        pool_id: &str,
        name: &str,
        purpose: Purpose,
        code: &str,
    ) -> CognitoError {
        let sub = match self.decoy_sub(pool_id, name).await {
            Ok(sub) => sub,
            Err(error) => return error,
        };
        // An unconfirmed user always holds a sign-up code (SignUp issued it), so wrong codes
        // lock it after five; the decoy gets one at its first check so that it locks alike.
        // Reset codes exist only once asked for, so a reset decoy stays without one.
        if purpose == Purpose::SignUp
            && let Err(error) = self.issue_code_unless_present(pool_id, &sub, purpose).await
        {
            return error;
        }
        match self
            .redeem_code(pool_id, &sub, purpose, code, crate::codes::code_mismatch)
            .await
        {
            Err(error) => error,
            // Six digits can match a decoy code by chance; it still confirms nothing.
            Ok(_) => crate::codes::code_mismatch(),
        }
    }

    /// With existence hiding on, issues a code now and delivers it after the answer, so the
    /// caller's response time does not depend on the sender (delivery failures are logged);
    /// otherwise the same as `send_code`.
    #[allow(clippy::too_many_arguments)] // `send_code`'s parts and the choice between the two.
    pub(crate) async fn send_code_unless_hiding(
        &self,
        hiding: bool,
        pool_id: &str,
        pool: &Json,
        user: &User,
        purpose: Purpose,
        (attribute, destination): (&str, &str),
        request: MessageRequest<'_>,
    ) -> CognitoResult<Json> {
        if !hiding {
            return self
                .send_code(
                    pool_id,
                    pool,
                    user,
                    purpose,
                    (attribute, destination),
                    request,
                )
                .await;
        }
        let (channel, code) = self
            .deliverable_code(pool_id, pool, user, purpose, (attribute, destination))
            .await?;
        let template = self.code_template(pool, purpose, channel, &user.username, &code, request);
        let message = DetachedMessage {
            channel,
            destination,
            template,
            code: &code,
            counted: false,
        };
        self.deliver_detached(pool_id, pool, user, message, request);
        Ok(outbox::details(channel, destination, attribute))
    }

    /// Delivers `message` after the answer; a failure is logged. The caller has already checked
    /// that the pool can deliver on its channel (`ensure_deliverable`).
    pub(crate) fn deliver_detached(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        message: DetachedMessage<'_>,
        request: MessageRequest<'_>,
    ) {
        let directory = self.clone();
        let (pool_id, pool, user) = (pool_id.to_owned(), pool.clone(), user.clone());
        let DetachedMessage {
            channel,
            destination,
            template,
            code,
            counted,
        } = message;
        let (destination, code) = (destination.to_owned(), code.to_owned());
        let (kind, client_metadata, client_id) = (
            request.kind,
            request.client_metadata.clone(),
            request.client_id.map(str::to_owned),
        );
        tokio::spawn(async move {
            let request = MessageRequest {
                kind,
                client_metadata: &client_metadata,
                client_id: client_id.as_deref(),
            };
            if counted
                && let Err(error) = directory
                    .count_authentication_send(&pool_id, &user.sub)
                    .await
            {
                tracing::warn!(pool_id, %error, "a sign-in code was not sent");
                return;
            }
            let sent = directory
                .deliver_code(
                    &pool_id,
                    &pool,
                    &user,
                    channel,
                    &destination,
                    template,
                    &code,
                    request,
                )
                .await;
            if let Err(error) = sent {
                tracing::warn!(pool_id, %error, "a code could not be delivered");
            }
        });
    }
}

/// With existence hiding, the soonest a code-sending call answers: a known user's answer costs
/// work an unknown one's doesn't (the user's row, the message, its delivery starting beside the
/// answer), and without a floor that difference is measurable from outside.
const HIDDEN_ANSWER_FLOOR: std::time::Duration = std::time::Duration::from_millis(25);

/// Runs `answer`; with `hiding`, holds its result until [`HIDDEN_ANSWER_FLOOR`] after `started`.
pub(crate) async fn padded<T>(
    hiding: bool,
    started: tokio::time::Instant,
    answer: impl Future<Output = T>,
) -> T {
    let answer = answer.await;
    if hiding {
        tokio::time::sleep_until(started + HIDDEN_ANSWER_FLOOR).await;
    }
    answer
}

/// A code message to deliver after the answer.
pub(crate) struct DetachedMessage<'a> {
    pub channel: Channel,
    pub destination: &'a str,
    pub template: Template,
    pub code: &'a str,
    /// A sign-in code auth made: counted against the user's hourly sends first, and over the
    /// limit not sent (the answer, already given, says nothing of it).
    pub counted: bool,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cognate_common::sealing::{MasterKey, Sealer};
    use sqlx::AnyPool;

    use super::*;

    /// Letters as `a`, digits as `9`, the rest as themselves: the format of a masked destination.
    fn shape(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' => 'a',
                '0'..='9' => '9',
                other => other,
            })
            .collect()
    }

    fn directory(db: &AnyPool, sealer: Sealer) -> Directory {
        Directory::new(
            db.clone(),
            Arc::new(cognate_common::clock::SystemClock),
            Arc::new(cognate_common::Config::default()),
            sealer,
        )
    }

    /// The installation secret is stored sealed, and a rotation (rewrap under a new key, then
    /// the old key dropped) keeps every simulated destination as it was.
    async fn the_hiding_secret_is_sealed_and_survives_a_rotation(db: &AnyPool) {
        let old = || MasterKey::from_bytes([1; 32]);
        let new = || MasterKey::from_bytes([2; 32]);
        let before = directory(db, Sealer::new(&old(), &[]).expect("sealer"))
            .simulated_destination("p", "nobody", Channel::Sms)
            .await
            .expect("simulated");
        let stored: String = sqlx::query_scalar("SELECT value FROM directory_secrets")
            .fetch_one(db)
            .await
            .expect("stored");
        assert!(
            stored.starts_with(&format!("sealed:v1:{}:", old().id())),
            "{stored}"
        );
        let rotating = Sealer::new(&new(), &[old()]).expect("sealer");
        assert_eq!(
            DIRECTORY_SECRETS
                .rewrap(db, &rotating)
                .await
                .expect("rewrap"),
            1
        );
        let after = directory(db, Sealer::new(&new(), &[]).expect("sealer"))
            .simulated_destination("p", "nobody", Channel::Sms)
            .await
            .expect("simulated");
        assert_eq!(before, after);
    }

    cognate_common::on_every_backend!(
        cognate_common::ServiceKind::Directory, crate::MIGRATOR;
        the_hiding_secret_is_sealed_and_survives_a_rotation,
    );

    #[test]
    fn fake_destinations_are_stable_and_look_real() {
        let secret = [1u8; 32];
        let first = fake_destination(&secret, "pool", "nobody", Channel::Email);
        assert_eq!(
            first,
            fake_destination(&secret, "pool", "nobody", Channel::Email)
        );
        assert_ne!(
            first,
            fake_destination(&[2u8; 32], "pool", "nobody", Channel::Email)
        );
        assert_eq!(
            fake_destination(&secret, "pool", "jane@example.com", Channel::Email),
            "j***@e***.com"
        );
        let real_email = shape(&outbox::masked(Channel::Email, "jane@example.com"));
        let real_phone = shape(&outbox::masked(Channel::Sms, "+12065550100"));
        let domain_initials: Vec<char> = MAIL_DOMAINS
            .iter()
            .filter_map(|domain| domain.chars().next())
            .collect();
        for index in 0..200 {
            let name = format!("nobody-{index}");
            let email = fake_destination(&secret, "pool", &name, Channel::Email);
            assert_eq!(shape(&email), real_email, "{email}");
            let local = email.chars().next().expect("an initial");
            let domain = email.chars().nth(5).expect("a domain initial");
            assert!(INITIALS.contains(&(local as u8)), "{email}");
            assert!(domain_initials.contains(&domain), "{email}");
            let phone = fake_destination(&secret, "pool", &name, Channel::Sms);
            assert_eq!(shape(&phone), real_phone, "{phone}");
        }
    }
}
