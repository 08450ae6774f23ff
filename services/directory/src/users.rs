//! Users: creation by an administrator, look-up by username, alias or `sub`, passwords, listing.
//! Usernames and sign-in aliases are unique by the store's constraints, not by checking first.

use std::sync::LazyLock;

use serde_json::{Map, Value as Json, json};
use sqlx::any::AnyRow;

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode, password};

use crate::outbox::{self, Channel, MessageKind, MessageRequest};
use crate::pools::{decode_token, encode_token, page_limit, password_policy};
use crate::{Directory, schema, user_index};

pub const FORCE_CHANGE_PASSWORD: &str = "FORCE_CHANGE_PASSWORD";
pub const CONFIRMED: &str = "CONFIRMED";
pub const RESET_REQUIRED: &str = "RESET_REQUIRED";

/// A stored user.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub sub: String,
    pub status: String,
    pub enabled: bool,
    /// `[{"Name", "Value"}]`, `sub` first.
    pub attributes: Vec<Json>,
    pub password_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl User {
    pub(crate) fn from_row(row: &AnyRow) -> CognitoResult<Self> {
        let attributes: Vec<Json> = serde_json::from_str(
            row.read::<String>("attributes_json")?.as_str(),
        )
        .map_err(|error| cognate_common::error::internal("stored attributes are corrupt", error))?;
        Ok(Self {
            username: row.read("username")?,
            sub: row.read("sub")?,
            status: row.read("status")?,
            enabled: row.flag("enabled")?,
            attributes,
            password_hash: row.read("password_hash")?,
            created_at: row.read("created_at")?,
            updated_at: row.read("updated_at")?,
        })
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute["Name"] == name)
            .and_then(|attribute| attribute["Value"].as_str())
    }

    /// Cognito's `UserType` (ListUsers, AdminCreateUser), with only `wanted` attributes if given.
    pub fn to_user_type(&self, wanted: Option<&[String]>) -> Json {
        let attributes: Vec<Json> = self
            .attributes
            .iter()
            .filter(|attribute| {
                wanted
                    .is_none_or(|names| names.iter().any(|name| attribute["Name"] == name.as_str()))
            })
            .cloned()
            .collect();
        json!({
            "Username": self.username,
            "Attributes": attributes,
            "UserCreateDate": epoch_seconds(self.created_at),
            "UserLastModifiedDate": epoch_seconds(self.updated_at),
            "Enabled": self.enabled,
            "UserStatus": self.status,
        })
    }
}

const USER_COLUMNS: &str =
    "username, sub, status, enabled, attributes_json, password_hash, created_at, updated_at";

/// The user columns prefixed by a table alias, for joins.
pub fn qualified_user_columns(table: &str) -> String {
    USER_COLUMNS
        .split(", ")
        .map(|column| format!("{table}.{column} AS {column}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The user `$3` (a `sub`), `$2` (a username key) or `$4`-`$6` (alias keys) finds in pool `$1`,
/// built once: three index look-ups (primary key, `users_by_sub`, `user_aliases`'s key) rather
/// than one OR, which Postgres answers with a scan of the pool.
static LOOK_UP: LazyLock<String> = LazyLock::new(|| {
    let aliased = qualified_user_columns("users");
    format!(
        "SELECT 0 AS lookup_order, {USER_COLUMNS} FROM users WHERE user_pool_id = $1 AND sub = $3 \
         UNION ALL SELECT 1 AS lookup_order, {USER_COLUMNS} FROM users WHERE user_pool_id = $1 AND username_key = $2 \
         UNION ALL SELECT 2 AS lookup_order, {aliased} FROM user_aliases JOIN users \
         ON users.user_pool_id = user_aliases.user_pool_id AND users.sub = user_aliases.sub \
         WHERE user_aliases.user_pool_id = $1 AND user_aliases.alias_key IN ($4, $5, $6) \
         ORDER BY lookup_order LIMIT 1"
    )
});

/// [`LOOK_UP`] with a row per group of the user's (a null `group_json` when there is none).
static LOOK_UP_WITH_GROUPS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT found.*, g.group_json AS group_json FROM ({lookup}) found \
         LEFT JOIN group_members m ON m.user_pool_id = $1 AND m.sub = found.sub \
         LEFT JOIN user_groups g ON g.user_pool_id = m.user_pool_id AND g.group_name = m.group_name",
        lookup = *LOOK_UP
    )
});

/// The first `limit` of `rows` (fetched with one extra to tell whether more follow) as users,
/// and the token of the next page: the last `username_key` of this one.
pub fn page_of_users(rows: &[AnyRow], limit: i64) -> CognitoResult<(Vec<User>, Option<String>)> {
    let page = usize::try_from(limit).unwrap_or(0);
    let users = rows
        .iter()
        .take(page)
        .map(User::from_row)
        .collect::<CognitoResult<Vec<_>>>()?;
    let next = rows
        .get(page.saturating_sub(1))
        .filter(|_| rows.len() > page)
        .map(|row| {
            Ok::<_, CognitoError>(encode_token(row.read::<String>("username_key")?.as_str()))
        })
        .transpose()?;
    Ok((users, next))
}

/// How a pool compares usernames and aliases.
pub(crate) struct Naming {
    case_sensitive: bool,
    alias_attributes: Vec<String>,
    username_attributes: Vec<String>,
}

impl Naming {
    /// The username a user given as `given_name` gets. With email or phone as username the
    /// name becomes that attribute and the username is the `sub`; with aliases the name may not
    /// look like one.
    pub(crate) fn username_for(
        &self,
        given_name: &str,
        attributes: &mut Vec<Json>,
        sub: &str,
    ) -> CognitoResult<String> {
        let has = |list: &[String], name: &str| list.iter().any(|entry| entry == name);
        if self.username_attributes.is_empty() {
            if has(&self.alias_attributes, "email") && looks_like_email(given_name) {
                return Err(CognitoError::invalid_parameter(
                    "Username cannot be of email format, since user pool is configured for email alias.",
                ));
            }
            if has(&self.alias_attributes, "phone_number") && looks_like_phone(given_name) {
                return Err(CognitoError::invalid_parameter(
                    "Username cannot be of phone number format, since user pool is configured for phone number alias.",
                ));
            }
            return Ok(given_name.to_owned());
        }
        let attribute = if looks_like_email(given_name) && has(&self.username_attributes, "email") {
            "email"
        } else if looks_like_phone(given_name) && has(&self.username_attributes, "phone_number") {
            "phone_number"
        } else {
            return Err(CognitoError::invalid_parameter(
                "Username should be either an email or a phone number.",
            ));
        };
        attributes.retain(|existing| existing["Name"] != attribute);
        attributes.push(json!({"Name": attribute, "Value": given_name}));
        Ok(sub.to_owned())
    }

    pub(crate) fn of(pool: &Json) -> Self {
        let list = |member: &str| -> Vec<String> {
            pool[member]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Self {
            // The API default is case-sensitive.
            case_sensitive: pool["UsernameConfiguration"]["CaseSensitive"]
                .as_bool()
                .unwrap_or(true),
            alias_attributes: list("AliasAttributes"),
            username_attributes: list("UsernameAttributes"),
        }
    }

    pub(crate) fn key(&self, name: &str) -> String {
        if self.case_sensitive {
            name.to_owned()
        } else {
            name.to_lowercase()
        }
    }

    fn alias_key(&self, attribute: &str, value: &str) -> String {
        // Email addresses compare case-insensitively whatever the username setting.
        let value = if attribute == "email" {
            value.to_lowercase()
        } else {
            self.key(value)
        };
        format!("{attribute}:{value}")
    }

    /// The sign-in names a user's attributes give them besides the username.
    pub(crate) fn aliases(&self, attributes: &[Json]) -> Vec<String> {
        let value = |name: &str| {
            attributes
                .iter()
                .find(|attribute| attribute["Name"] == name)
                .and_then(|attribute| attribute["Value"].as_str())
        };
        let verified = |name: &str| value(&format!("{name}_verified")) == Some("true");
        let mut keys = Vec::new();
        for attribute in &self.username_attributes {
            if let Some(found) = value(attribute) {
                keys.push(self.alias_key(attribute, found));
            }
        }
        for attribute in &self.alias_attributes {
            let counts = attribute == "preferred_username" || verified(attribute);
            if let (true, Some(found)) = (counts, value(attribute)) {
                keys.push(self.alias_key(attribute, found));
            }
        }
        keys
    }
}

fn user_not_found() -> CognitoError {
    CognitoError::new(ErrorCode::UserNotFoundException, "User does not exist.")
}

fn looks_like_email(text: &str) -> bool {
    text.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}

fn looks_like_phone(text: &str) -> bool {
    text.strip_prefix('+')
        .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
}

/// Checks attributes an administrator sets against the pool's schema.
pub(crate) fn check_attributes(schema: &[Json], attributes: &[Json]) -> CognitoResult<()> {
    for attribute in attributes {
        let name = attribute["Name"].as_str().unwrap_or_default();
        if name == "sub" {
            return Err(CognitoError::invalid_parameter(
                "Cannot modify the non-mutable attribute sub",
            ));
        }
        if schema::find(schema, name).is_none() {
            return Err(CognitoError::invalid_parameter(format!(
                "Attributes did not conform to the schema: {name}: Attribute does not exist in the schema."
            )));
        }
        let value = attribute["Value"].as_str().unwrap_or_default();
        if value.chars().count() > 2048 {
            return Err(CognitoError::invalid_parameter(format!(
                "Attributes did not conform to the schema: {name}: String attribute value is too long"
            )));
        }
    }
    Ok(())
}

/// Refuses attributes that leave out one the pool's schema requires.
pub(crate) fn check_required(schema: &[Json], attributes: &[Json]) -> CognitoResult<()> {
    for entry in schema {
        let name = entry["Name"].as_str().unwrap_or_default();
        let present = name == "sub"
            || attributes.iter().any(|attribute| {
                attribute["Name"] == name
                    && attribute["Value"]
                        .as_str()
                        .is_some_and(|value| !value.is_empty())
            });
        if entry["Required"] == true && !present {
            return Err(CognitoError::invalid_parameter(format!(
                "Attributes did not conform to the schema: {name}: The attribute is required"
            )));
        }
    }
    Ok(())
}

/// A list of attributes in a request (`UserAttributes`, `ValidationData`), empty when absent.
pub(crate) fn attribute_list(request: &Map<String, Json>, member: &str) -> Vec<Json> {
    request
        .get(member)
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

impl Directory {
    /// A user by `sub`, username or sign-in alias, in that order: a token's `sub` always finds
    /// its own user, even if someone chose that text as their username.
    pub async fn find_user(&self, pool_id: &str, name: &str) -> CognitoResult<User> {
        let rows = self.look_up_user(pool_id, name, false).await?;
        User::from_row(rows.first().ok_or_else(user_not_found)?)
    }

    /// [`Directory::find_user`] and the user's groups, by precedence, in one query.
    pub async fn find_user_with_groups(
        &self,
        pool_id: &str,
        name: &str,
    ) -> CognitoResult<(User, Vec<Json>)> {
        let rows = self.look_up_user(pool_id, name, true).await?;
        let user = User::from_row(rows.first().ok_or_else(user_not_found)?)?;
        let mut groups = rows
            .iter()
            .filter_map(|row| row.read::<Option<String>>("group_json").transpose())
            .map(|text| crate::groups::parse_group(&text?))
            .collect::<CognitoResult<Vec<_>>>()?;
        crate::groups::by_precedence(&mut groups);
        Ok((user, groups))
    }

    /// The rows of the user `name` finds: none, or one, or with `groups` one per group the user
    /// is in (at least one, with a null `group_json` when there is none).
    async fn look_up_user(
        &self,
        pool_id: &str,
        name: &str,
        groups: bool,
    ) -> CognitoResult<Vec<AnyRow>> {
        let pool = self.load_pool(pool_id).await?;
        let naming = Naming::of(&pool);
        let key = naming.key(name);
        let query = if groups {
            LOOK_UP_WITH_GROUPS.as_str()
        } else {
            LOOK_UP.as_str()
        };
        sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(pool_id)
            .bind(&key)
            .bind(name)
            .bind(naming.alias_key("email", name))
            .bind(naming.alias_key("phone_number", name))
            .bind(naming.alias_key("preferred_username", name))
            .fetch_all(&self.db)
            .await
            .map_err(store_error)
    }

    pub async fn admin_create_user(&self, request: Map<String, Json>) -> CognitoResult<User> {
        let pool_id = request
            .get("UserPoolId")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let pool = self.load_pool(pool_id).await?;
        let naming = Naming::of(&pool);
        let given_name = request
            .get("Username")
            .and_then(Json::as_str)
            .unwrap_or_default();
        if given_name.is_empty()
            || given_name.chars().count() > 128
            || given_name.chars().any(char::is_whitespace)
        {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'username' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
            ));
        }
        let action = request.get("MessageAction").and_then(Json::as_str);
        if action == Some("RESEND") {
            return self
                .resend_invitation(pool_id, &pool, given_name, &request)
                .await;
        }
        let mut attributes = attribute_list(&request, "UserAttributes");
        let schema_attributes = pool["SchemaAttributes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        check_attributes(&schema_attributes, &attributes)?;

        let sub = uuid::Uuid::new_v4().to_string();
        let username = naming.username_for(given_name, &mut attributes, &sub)?;
        check_required(&schema_attributes, &attributes)?;
        let policy = password_policy(&pool);
        let temporary = match request.get("TemporaryPassword").and_then(Json::as_str) {
            Some(given) => {
                policy.check(given)?;
                given.to_owned()
            }
            None => policy.temporary_password(),
        };
        let invitation = self.invitation_channels(&pool, &attributes, &request)?;
        let validation_data = attribute_list(&request, "ValidationData");
        let client_metadata = request.get("ClientMetadata").cloned().unwrap_or(json!({}));
        // Before anything is stored: a refusal leaves no user behind. The user's status stays
        // FORCE_CHANGE_PASSWORD whatever the handler says about confirming, as in Cognito.
        self.pre_sign_up(
            pool_id,
            &pool,
            "PreSignUp_AdminCreateUser",
            &username,
            None,
            &attributes,
            &validation_data,
            &client_metadata,
        )
        .await?
        .verify(&mut attributes);
        attributes.insert(0, json!({"Name": "sub", "Value": sub}));

        let password_hash =
            password::stored_form(&self.work, pool_id, &username, temporary.clone()).await?;
        let now = unix_millis(self.clock.now());
        let user = User {
            username,
            sub,
            status: FORCE_CHANGE_PASSWORD.to_owned(),
            enabled: true,
            attributes,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        self.insert_user(pool_id, &naming, &user, "User account already exists")
            .await?;
        self.send_invitation(pool_id, &pool, &user, &invitation, &temporary, &request)
            .await?;
        Ok(user)
    }

    /// Where AdminCreateUser's invitation goes: `DesiredDeliveryMediums` (SMS by default) that
    /// the user has an address for, none with `MessageAction=SUPPRESS`. Checked before the user
    /// is stored, so an undeliverable invitation leaves no user behind.
    fn invitation_channels(
        &self,
        pool: &Json,
        attributes: &[Json],
        request: &Map<String, Json>,
    ) -> CognitoResult<Vec<(Channel, String)>> {
        if request.get("MessageAction").and_then(Json::as_str) == Some("SUPPRESS") {
            return Ok(Vec::new());
        }
        let mediums: Vec<&str> = match request
            .get("DesiredDeliveryMediums")
            .and_then(Json::as_array)
        {
            Some(list) if !list.is_empty() => list.iter().filter_map(Json::as_str).collect(),
            _ => vec!["SMS"],
        };
        let mut channels = Vec::new();
        for (medium, channel, attribute) in [
            ("EMAIL", Channel::Email, "email"),
            ("SMS", Channel::Sms, "phone_number"),
        ] {
            let address = attributes
                .iter()
                .find(|entry| entry["Name"] == attribute)
                .and_then(|entry| entry["Value"].as_str())
                .filter(|value| !value.is_empty());
            if let (true, Some(address)) = (mediums.contains(&medium), address) {
                self.ensure_deliverable(pool, channel)?;
                channels.push((channel, address.to_owned()));
            }
        }
        Ok(channels)
    }

    /// Sends the invitation with the temporary password through message delivery.
    async fn send_invitation(
        &self,
        pool_id: &str,
        pool: &Json,
        user: &User,
        channels: &[(Channel, String)],
        temporary: &str,
        request: &Map<String, Json>,
    ) -> CognitoResult<()> {
        let client_metadata = request.get("ClientMetadata").cloned().unwrap_or(Json::Null);
        for (channel, address) in channels {
            self.deliver_code(
                pool_id,
                pool,
                user,
                *channel,
                address,
                outbox::invitation_template(pool, *channel),
                temporary,
                MessageRequest {
                    kind: MessageKind::AdminCreateUser,
                    client_metadata: &client_metadata,
                    client_id: None,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Inserts a user and their sign-in aliases in one transaction. A taken username answers
    /// `UsernameExistsException` with `duplicate_message` (AdminCreateUser and SignUp word it
    /// differently).
    pub(crate) async fn insert_user(
        &self,
        pool_id: &str,
        naming: &Naming,
        user: &User,
        duplicate_message: &str,
    ) -> CognitoResult<()> {
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        let inserted = sqlx::query(
            "INSERT INTO users (user_pool_id, username_key, username, sub, status, enabled, attributes_json, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(pool_id)
        .bind(naming.key(&user.username))
        .bind(&user.username)
        .bind(&user.sub)
        .bind(&user.status)
        .bind(i64::from(user.enabled))
        .bind(Json::Array(user.attributes.clone()).to_string())
        .bind(&user.password_hash)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *transaction)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => {
                return Err(CognitoError::new(
                    ErrorCode::UsernameExistsException,
                    duplicate_message,
                ));
            }
            other => other.map_err(store_error)?,
        };
        for alias_key in naming.aliases(&user.attributes) {
            let inserted = sqlx::query(
                "INSERT INTO user_aliases (user_pool_id, alias_key, sub) VALUES ($1, $2, $3)",
            )
            .bind(pool_id)
            .bind(&alias_key)
            .bind(&user.sub)
            .execute(&mut *transaction)
            .await;
            match inserted {
                Err(error) if is_unique_violation(&error) => {
                    let attribute = alias_key.split(':').next().unwrap_or("email");
                    let code = if naming
                        .username_attributes
                        .iter()
                        .any(|name| name == attribute)
                    {
                        ErrorCode::UsernameExistsException
                    } else {
                        ErrorCode::AliasExistsException
                    };
                    return Err(CognitoError::new(
                        code,
                        format!("An account with the given {attribute} already exists."),
                    ));
                }
                other => other.map_err(store_error)?,
            };
        }
        user_index::write_index(
            &mut transaction,
            pool_id,
            &user.sub,
            &naming.key(&user.username),
            &user.attributes,
        )
        .await?;
        transaction.commit().await.map_err(store_error)
    }

    /// `MessageAction=RESEND`: a new temporary password for a user who never signed in.
    async fn resend_invitation(
        &self,
        pool_id: &str,
        pool: &Json,
        name: &str,
        request: &Map<String, Json>,
    ) -> CognitoResult<User> {
        let mut user = self.find_user(pool_id, name).await?;
        if user.status != FORCE_CHANGE_PASSWORD {
            return Err(CognitoError::new(
                ErrorCode::UnsupportedUserStateException,
                format!(
                    "Resend not possible. {} status is not FORCE_CHANGE_PASSWORD",
                    user.username
                ),
            ));
        }
        let policy = password_policy(pool);
        let temporary = match request.get("TemporaryPassword").and_then(Json::as_str) {
            Some(given) => {
                policy.check(given)?;
                given.to_owned()
            }
            None => policy.temporary_password(),
        };
        let invitation = self.invitation_channels(pool, &user.attributes, request)?;
        let stored =
            password::stored_form(&self.work, pool_id, &user.username, temporary.clone()).await?;
        self.replace_password(pool_id, pool, &user, &stored, &user.status)
            .await?;
        user.password_hash = stored;
        user.updated_at = unix_millis(self.clock.now());
        self.send_invitation(pool_id, pool, &user, &invitation, &temporary, request)
            .await?;
        Ok(user)
    }

    /// AdminSetUserPassword, and the new password of NEW_PASSWORD_REQUIRED (`client_id` set: the
    /// end user chose it, so compromised-credentials detection applies).
    pub async fn admin_set_user_password(
        &self,
        pool_id: &str,
        name: &str,
        new_password: &str,
        permanent: bool,
        client_id: Option<&str>,
    ) -> CognitoResult<()> {
        let pool = self.load_pool(pool_id).await?;
        let user = self.find_user(pool_id, name).await?;
        password_policy(&pool).check(new_password)?;
        let stored = self
            .screened_password(pool_id, &pool, &user, client_id, new_password)
            .await?;
        let status = if permanent {
            CONFIRMED
        } else {
            FORCE_CHANGE_PASSWORD
        };
        self.replace_password(pool_id, &pool, &user, &stored, status)
            .await
    }

    /// A page of users. Unfiltered, and filtered on username, `sub`, `status` or
    /// `cognito:user_status`, pages are in username order and the token is the last username
    /// key of the page; those filters narrow the rows in SQL (through `users_by_status` and
    /// `users_by_enabled`), then are applied in Rust to rows read batch by batch until the page
    /// is full. Filtered on an attribute, pages come from the attribute index in (value,
    /// username) order ([`Directory::list_users_by_attribute`]). Either way a token names a
    /// position in a fixed order, so pages stay stable while users are added.
    pub async fn list_users(
        &self,
        pool_id: &str,
        limit: Option<i64>,
        token: Option<&str>,
        filter: Option<&str>,
    ) -> CognitoResult<(Vec<User>, Option<String>)> {
        let pool = self.load_pool(pool_id).await?;
        let filter = crate::filter::Filter::parse(filter.unwrap_or_default())?;
        if let Some(filter) = &filter {
            let schema = pool["SchemaAttributes"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            filter.check_schema(schema)?;
        }
        let limit = page_limit(limit, "limit")?;
        let after = decode_token(token)?.unwrap_or_default();
        let query = format!(
            "SELECT username_key, {USER_COLUMNS} FROM users WHERE user_pool_id = $1 AND username_key > $2 \
             ORDER BY username_key LIMIT $3"
        );
        let Some(filter) = filter else {
            let rows = sqlx::query(sqlx::AssertSqlSafe(query))
                .bind(pool_id)
                .bind(after)
                .bind(limit + 1)
                .fetch_all(&self.db)
                .await
                .map_err(store_error)?;
            return page_of_users(&rows, limit);
        };
        if let crate::filter::Field::Attribute(name) = &filter.field {
            return self
                .list_users_by_attribute(pool_id, name, &filter, limit, token)
                .await;
        }
        let page = usize::try_from(limit).unwrap_or(0);
        let batch = (limit + 1).max(FILTER_BATCH);
        let narrowing = filter.sql();
        let query = match &narrowing {
            Some((condition, _)) => {
                query.replace(" ORDER BY", &format!(" AND {condition} ORDER BY"))
            }
            None => query,
        };
        let mut cursor = after;
        let mut found: Vec<(String, User)> = Vec::new();
        loop {
            let mut select = sqlx::query(sqlx::AssertSqlSafe(query.clone()))
                .bind(pool_id)
                .bind(&cursor)
                .bind(batch);
            if let Some((_, value)) = &narrowing {
                select = select.bind(value);
            }
            let rows = select.fetch_all(&self.db).await.map_err(store_error)?;
            for row in &rows {
                let user = User::from_row(row)?;
                if filter.matches(&user) {
                    found.push((row.read::<String>("username_key")?, user));
                }
                if found.len() > page {
                    break;
                }
            }
            let exhausted = i64::try_from(rows.len()).unwrap_or(0) < batch;
            match rows.last() {
                Some(row) if found.len() <= page && !exhausted => {
                    cursor = row.read::<String>("username_key")?;
                }
                _ => break,
            }
        }
        let next = found
            .get(page.saturating_sub(1))
            .filter(|_| found.len() > page)
            .map(|(key, _)| encode_token(key));
        let users = found.into_iter().take(page).map(|(_, user)| user).collect();
        Ok((users, next))
    }

    /// A page of users whose attribute `name` passes `filter`, in (value, username) order: a
    /// range scan of the attribute index joined to the users. The token is the last (value key,
    /// username key) of the page. Values longer than the index keeps are rechecked in full, so
    /// the scan may read past rows that fail; it goes on batch by batch until the page is full.
    async fn list_users_by_attribute(
        &self,
        pool_id: &str,
        name: &str,
        filter: &crate::filter::Filter,
        limit: i64,
        token: Option<&str>,
    ) -> CognitoResult<(Vec<User>, Option<String>)> {
        let (low, high) = user_index::value_range(&filter.value, filter.prefix);
        let mut cursor = match decode_token(token)? {
            Some(position) => {
                let (value_key, username_key) = position
                    .split_once(' ')
                    .ok_or_else(|| CognitoError::invalid_parameter("Invalid pagination token."))?;
                (value_key.to_owned(), username_key.to_owned())
            }
            // Username keys are never empty, so this starts at the first key of the range.
            None => (low, String::new()),
        };
        // The resume position as one row comparison: Postgres turns it into an index condition
        // and reads the index in order even on stale statistics after a bulk load (spelled
        // `a > x OR (a = x AND b > y)` it read every matching row before sorting).
        let query = format!(
            "SELECT user_attribute_index.value_key AS value_key, users.username_key AS username_key, {} \
             FROM user_attribute_index JOIN users ON users.user_pool_id = user_attribute_index.user_pool_id \
             AND users.username_key = user_attribute_index.username_key \
             WHERE user_attribute_index.user_pool_id = $1 AND user_attribute_index.attribute_name = $2 \
             AND (user_attribute_index.value_key, user_attribute_index.username_key) > ($3, $4) \
             AND user_attribute_index.value_key < $5 \
             ORDER BY user_attribute_index.value_key, user_attribute_index.username_key LIMIT $6",
            qualified_user_columns("users")
        );
        let page = usize::try_from(limit).unwrap_or(0);
        let batch = limit + 1;
        let mut found: Vec<((String, String), User)> = Vec::new();
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(query.clone()))
                .bind(pool_id)
                .bind(name)
                .bind(&cursor.0)
                .bind(&cursor.1)
                .bind(&high)
                .bind(batch)
                .fetch_all(&self.db)
                .await
                .map_err(store_error)?;
            for row in &rows {
                let user = User::from_row(row)?;
                if filter.matches(&user) {
                    let position = (row.read("value_key")?, row.read("username_key")?);
                    found.push((position, user));
                }
                if found.len() > page {
                    break;
                }
            }
            let exhausted = i64::try_from(rows.len()).unwrap_or(0) < batch;
            match rows.last() {
                Some(row) if found.len() <= page && !exhausted => {
                    cursor = (row.read("value_key")?, row.read("username_key")?);
                }
                _ => break,
            }
        }
        let next = found
            .get(page.saturating_sub(1))
            .filter(|_| found.len() > page)
            .map(|((value_key, username_key), _)| {
                encode_token(&format!("{value_key} {username_key}"))
            });
        let users = found.into_iter().take(page).map(|(_, user)| user).collect();
        Ok((users, next))
    }
}

/// Rows read at a time when filtering ListUsers in Rust.
const FILTER_BATCH: i64 = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_count_only_verified_values_unless_they_are_usernames() {
        let naming = Naming {
            case_sensitive: false,
            alias_attributes: vec!["email".into(), "preferred_username".into()],
            username_attributes: Vec::new(),
        };
        let unverified = [json!({"Name": "email", "Value": "Jane@Example.com"})];
        assert!(naming.aliases(&unverified).is_empty());
        let verified = [
            json!({"Name": "email", "Value": "Jane@Example.com"}),
            json!({"Name": "email_verified", "Value": "true"}),
            json!({"Name": "preferred_username", "Value": "JJ"}),
        ];
        assert_eq!(
            naming.aliases(&verified),
            vec!["email:jane@example.com", "preferred_username:jj"]
        );
        let by_email = Naming {
            username_attributes: vec!["email".into()],
            alias_attributes: Vec::new(),
            case_sensitive: true,
        };
        assert_eq!(
            by_email.aliases(&unverified),
            vec!["email:jane@example.com"]
        );
    }
}
