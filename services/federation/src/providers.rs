//! Identity providers as stored configuration: Cognito's request checks and defaults, and the
//! operations on the store. Nothing here talks to an upstream provider yet.
//!
//! Messages marked "verified" are Cognito's own wording as quoted from real responses; the
//! rest are best estimates, kept in one place so they are easy to correct.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognate_common::clock::epoch_seconds;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::idp::v1::{
    CreateIdentityProviderRequest, DeleteIdentityProviderRequest, DescribeIdentityProviderRequest,
    GetIdentityProviderByIdentifierRequest, IdentityProviderType, ListIdentityProvidersRequest,
    ListIdentityProvidersResponse, ProviderDescription, UpdateIdentityProviderRequest,
};
use sqlx::AnyPool;

use crate::store::{self, ProviderRecord};
use crate::validation::{Violations, is_user_pool_id};

/// `IdentityProviderTypeType`, in the model's order (AWS lists the set in this order).
pub(crate) const PROVIDER_TYPES: [&str; 6] = [
    "SAML",
    "Facebook",
    "Google",
    "LoginWithAmazon",
    "SignInWithApple",
    "OIDC",
];

/// Providers whose name must equal their type: a pool has at most one of each.
const SOCIAL_TYPES: [&str; 4] = ["Facebook", "Google", "LoginWithAmazon", "SignInWithApple"];

/// ListIdentityProviders' page size when MaxResults is absent (or 0): the model's maximum.
const DEFAULT_PAGE_SIZE: i64 = 60;

const PROVIDER_NAME_PATTERN: &str = r"[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+";
const IDP_IDENTIFIER_PATTERN: &str = r"[\w\s+=.@-]+";
const USER_POOL_ID_PATTERN: &str = r"[\w-]+_[0-9a-zA-Z]+";

fn provider_not_found(user_pool_id: &str, provider_name: &str) -> CognitoError {
    CognitoError::not_found(format!(
        "Identity provider {provider_name} for tenantId {user_pool_id} does not exist."
    ))
}

/// `\p{Z}` (separators): `char::is_whitespace` is the closest std test.
fn is_separator(character: char) -> bool {
    character.is_whitespace()
}

/// `[^_\p{Z}][\p{L}\p{M}\p{S}\p{N}\p{P}][^_\p{Z}]+`: CreateIdentityProvider's ProviderName.
/// No underscore (Cognito joins provider and user with `_` in federated usernames) or
/// separator except as the second character, which may not be a separator or a control.
fn is_new_provider_name(name: &str) -> bool {
    let mut characters = name.chars();
    let (Some(first), Some(second)) = (characters.next(), characters.next()) else {
        return false;
    };
    let rest: Vec<char> = characters.collect();
    first != '_'
        && !is_separator(first)
        && !is_separator(second)
        && !second.is_control()
        && !rest.is_empty()
        && rest
            .iter()
            .all(|&character| character != '_' && !is_separator(character))
}

/// `[\w\s+=.@-]+` with Java's ASCII `\w` and `\s`.
fn is_idp_identifier(identifier: &str) -> bool {
    !identifier.is_empty()
        && identifier.chars().all(|character| {
            character.is_ascii_alphanumeric()
                || matches!(
                    character,
                    '_' | ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r' | '+' | '=' | '.' | '@' | '-'
                )
        })
}

fn check_user_pool_id(violations: &mut Violations, user_pool_id: Option<&str>) -> String {
    if let Some(id) = user_pool_id {
        violations.length("userPoolId", id, 1, 55);
        violations.pattern("userPoolId", id, is_user_pool_id(id), USER_POOL_ID_PATTERN);
    }
    violations.required("userPoolId", user_pool_id).to_owned()
}

/// The name of an existing provider (ProviderNameType: 1–32 characters, any but controls).
fn check_existing_name(violations: &mut Violations, provider_name: Option<&str>) -> String {
    if let Some(name) = provider_name {
        violations.length("providerName", name, 1, 32);
    }
    violations
        .required("providerName", provider_name)
        .to_owned()
}

fn check_identifiers(violations: &mut Violations, identifiers: Vec<String>) -> Vec<String> {
    violations.list_length("idpIdentifiers", &identifiers, 50);
    let mut unique: Vec<String> = Vec::with_capacity(identifiers.len());
    for (index, identifier) in identifiers.into_iter().enumerate() {
        let path = format!("idpIdentifiers.{}.member", index + 1);
        violations.length(&path, &identifier, 1, 40);
        violations.pattern(
            &path,
            &identifier,
            is_idp_identifier(&identifier),
            IDP_IDENTIFIER_PATTERN,
        );
        // A repeated identifier in one request names the same provider twice: keep one.
        if !unique.contains(&identifier) {
            unique.push(identifier);
        }
    }
    unique
}

fn check_attribute_mapping(violations: &mut Violations, mapping: &HashMap<String, String>) {
    for key in mapping.keys() {
        let length = key.chars().count();
        if !(1..=32).contains(&length) {
            violations.add(
                Some(key),
                "attributeMapping",
                "Map keys must satisfy constraint: [Member must have length less than or equal to 32, Member must have length greater than or equal to 1]",
            );
        }
    }
}

fn present(details: &BTreeMap<String, String>, key: &str) -> bool {
    details
        .get(key)
        .is_some_and(|value| !value.trim().is_empty())
}

/// The ProviderDetails keys Cognito insists on per type, checked without fetching anything.
fn check_details(provider_type: &str, details: &BTreeMap<String, String>) -> CognitoResult<()> {
    let all_present = |keys: &[&str]| keys.iter().all(|key| present(details, key));
    match provider_type {
        "SAML" if !present(details, "MetadataURL") && !present(details, "MetadataFile") => {
            // Verified (hashicorp/terraform-provider-aws#4815).
            Err(CognitoError::invalid_parameter(
                "At least one of the MetadataURL or MetadataFile should be provided.",
            ))
        }
        "OIDC" => match ["client_id", "authorize_scopes", "oidc_issuer"]
            .into_iter()
            .find(|key| !present(details, key))
        {
            Some(key) => Err(CognitoError::invalid_parameter(format!(
                "{key} is a required idp detail for an OIDC provider."
            ))),
            None => Ok(()),
        },
        "Facebook" | "Google" | "LoginWithAmazon"
            if !all_present(&["client_id", "client_secret", "authorize_scopes"]) =>
        {
            // Verified (aws-amplify/amplify-cli#8266 and others).
            Err(CognitoError::invalid_parameter(
                "client_id, client_secret and authorize_scopes are all required idp details.",
            ))
        }
        "SignInWithApple" if !all_present(&["client_id", "team_id", "key_id", "private_key"]) => {
            Err(CognitoError::invalid_parameter(
                "client_id, team_id, key_id and private_key are all required idp details.",
            ))
        }
        _ => Ok(()),
    }
}

/// The mapping Cognito stores when a request gives none. Facebook's is from the AWS CLI
/// examples; the others are best estimates from the AWS console's defaults. SAML has none.
fn default_attribute_mapping(provider_type: &str) -> BTreeMap<String, String> {
    let username_claim = match provider_type {
        "OIDC" | "Google" | "SignInWithApple" => "sub",
        "Facebook" => "id",
        "LoginWithAmazon" => "user_id",
        _ => return BTreeMap::new(),
    };
    BTreeMap::from([("username".to_owned(), username_claim.to_owned())])
}

fn identity_provider(record: ProviderRecord) -> IdentityProviderType {
    let mut provider_details = record.provider_details;
    if record.provider_type == "SignInWithApple" {
        // Cognito never shows Apple's signing key back (see the ProviderDetails docs).
        provider_details.remove("private_key");
    }
    IdentityProviderType {
        user_pool_id: Some(record.user_pool_id),
        provider_name: Some(record.provider_name),
        provider_type: Some(record.provider_type),
        provider_details: provider_details.into_iter().collect(),
        attribute_mapping: record.attribute_mapping.into_iter().collect(),
        idp_identifiers: record.idp_identifiers,
        last_modified_date: Some(epoch_seconds(record.updated_at)),
        creation_date: Some(epoch_seconds(record.created_at)),
    }
}

/// A checked CreateIdentityProvider.
#[derive(Debug, Clone)]
pub(crate) struct NewProvider {
    pub user_pool_id: String,
    provider_name: String,
    provider_type: String,
    provider_details: BTreeMap<String, String>,
    attribute_mapping: BTreeMap<String, String>,
    idp_identifiers: Vec<String>,
}

impl NewProvider {
    pub(crate) fn from_request(request: CreateIdentityProviderRequest) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let user_pool_id = check_user_pool_id(&mut violations, request.user_pool_id.as_deref());
        let provider_name = violations
            .required("providerName", request.provider_name.as_deref())
            .to_owned();
        if request.provider_name.is_some() {
            violations.length("providerName", &provider_name, 1, 32);
            violations.pattern(
                "providerName",
                &provider_name,
                is_new_provider_name(&provider_name),
                PROVIDER_NAME_PATTERN,
            );
        }
        let provider_type = violations
            .required("providerType", request.provider_type.as_deref())
            .to_owned();
        if request.provider_type.is_some() {
            violations.one_of("providerType", &provider_type, &PROVIDER_TYPES);
        }
        check_attribute_mapping(&mut violations, &request.attribute_mapping);
        let idp_identifiers = check_identifiers(&mut violations, request.idp_identifiers);
        violations.finish()?;

        if SOCIAL_TYPES.contains(&provider_type.as_str()) && provider_name != provider_type {
            // Verified (aws/aws-cli#3179).
            return Err(CognitoError::invalid_parameter(format!(
                "Provider {provider_name} cannot be of type {provider_type}."
            )));
        }
        let provider_details: BTreeMap<String, String> =
            request.provider_details.into_iter().collect();
        check_details(&provider_type, &provider_details)?;
        let attribute_mapping = if request.attribute_mapping.is_empty() {
            default_attribute_mapping(&provider_type)
        } else {
            request.attribute_mapping.into_iter().collect()
        };
        Ok(Self {
            user_pool_id,
            provider_name,
            provider_type,
            provider_details,
            attribute_mapping,
            idp_identifiers,
        })
    }
}

/// A checked UpdateIdentityProvider. The wire cannot tell an absent map or list from an empty
/// one, so an empty member leaves the stored value as it was.
#[derive(Debug, Clone)]
pub(crate) struct ProviderChange {
    pub user_pool_id: String,
    provider_name: String,
    provider_details: Option<BTreeMap<String, String>>,
    attribute_mapping: Option<BTreeMap<String, String>>,
    idp_identifiers: Option<Vec<String>>,
}

impl ProviderChange {
    pub(crate) fn from_request(request: UpdateIdentityProviderRequest) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let user_pool_id = check_user_pool_id(&mut violations, request.user_pool_id.as_deref());
        let provider_name = check_existing_name(&mut violations, request.provider_name.as_deref());
        check_attribute_mapping(&mut violations, &request.attribute_mapping);
        let idp_identifiers = check_identifiers(&mut violations, request.idp_identifiers);
        violations.finish()?;
        Ok(Self {
            user_pool_id,
            provider_name,
            provider_details: Some(request.provider_details.into_iter().collect())
                .filter(|details: &BTreeMap<String, String>| !details.is_empty()),
            attribute_mapping: Some(request.attribute_mapping.into_iter().collect())
                .filter(|mapping: &BTreeMap<String, String>| !mapping.is_empty()),
            idp_identifiers: Some(idp_identifiers).filter(|identifiers| !identifiers.is_empty()),
        })
    }
}

/// A checked pool id and provider name (Describe and Delete).
#[derive(Debug, Clone)]
pub(crate) struct ProviderKey {
    pub user_pool_id: String,
    provider_name: String,
}

impl ProviderKey {
    fn checked(user_pool_id: Option<&str>, provider_name: Option<&str>) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let user_pool_id = check_user_pool_id(&mut violations, user_pool_id);
        let provider_name = check_existing_name(&mut violations, provider_name);
        violations.finish()?;
        Ok(Self {
            user_pool_id,
            provider_name,
        })
    }

    pub(crate) fn from_describe(request: &DescribeIdentityProviderRequest) -> CognitoResult<Self> {
        Self::checked(
            request.user_pool_id.as_deref(),
            request.provider_name.as_deref(),
        )
    }

    pub(crate) fn from_delete(request: &DeleteIdentityProviderRequest) -> CognitoResult<Self> {
        Self::checked(
            request.user_pool_id.as_deref(),
            request.provider_name.as_deref(),
        )
    }
}

/// A checked GetIdentityProviderByIdentifier.
#[derive(Debug, Clone)]
pub(crate) struct IdentifierQuery {
    pub user_pool_id: String,
    identifier: String,
}

impl IdentifierQuery {
    pub(crate) fn from_request(
        request: &GetIdentityProviderByIdentifierRequest,
    ) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let user_pool_id = check_user_pool_id(&mut violations, request.user_pool_id.as_deref());
        let identifier = violations
            .required("idpIdentifier", request.idp_identifier.as_deref())
            .to_owned();
        if request.idp_identifier.is_some() {
            violations.length("idpIdentifier", &identifier, 1, 40);
            violations.pattern(
                "idpIdentifier",
                &identifier,
                is_idp_identifier(&identifier),
                IDP_IDENTIFIER_PATTERN,
            );
        }
        violations.finish()?;
        Ok(Self {
            user_pool_id,
            identifier,
        })
    }
}

/// A checked ListIdentityProviders page request.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    pub user_pool_id: String,
    page_size: i64,
    /// The last provider name of the previous page.
    after: Option<String>,
}

impl ListQuery {
    pub(crate) fn from_request(request: &ListIdentityProvidersRequest) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let user_pool_id = check_user_pool_id(&mut violations, request.user_pool_id.as_deref());
        // The model allows 0..=60; 0 is taken as "the default" (Cognito's answer to 0 is
        // unconfirmed).
        let page_size = match request.max_results {
            Some(max_results) => {
                violations.range("maxResults", i64::from(max_results), 0, 60);
                if max_results == 0 {
                    DEFAULT_PAGE_SIZE
                } else {
                    i64::from(max_results)
                }
            }
            None => DEFAULT_PAGE_SIZE,
        };
        if let Some(token) = &request.next_token {
            violations.length("nextToken", token, 1, usize::MAX);
        }
        violations.finish()?;
        let after = match &request.next_token {
            Some(token) => Some(decode_page_token(token)?),
            None => None,
        };
        Ok(Self {
            user_pool_id,
            page_size,
            after,
        })
    }
}

fn encode_page_token(last_name: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_name)
}

fn decode_page_token(token: &str) -> CognitoResult<String> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| CognitoError::invalid_parameter("The pagination token is invalid."))
}

pub(crate) async fn create_provider(
    store: &AnyPool,
    now_millis: i64,
    new: NewProvider,
) -> CognitoResult<IdentityProviderType> {
    let record = ProviderRecord {
        user_pool_id: new.user_pool_id,
        provider_name: new.provider_name,
        provider_type: new.provider_type,
        provider_details: new.provider_details,
        attribute_mapping: new.attribute_mapping,
        idp_identifiers: new.idp_identifiers,
        created_at: now_millis,
        updated_at: now_millis,
    };
    let mut transaction = store.begin().await.map_err(store_error)?;
    store::insert_provider(&mut transaction, &record).await?;
    transaction.commit().await.map_err(store_error)?;
    Ok(identity_provider(record))
}

pub(crate) async fn describe_provider(
    store: &AnyPool,
    key: &ProviderKey,
) -> CognitoResult<IdentityProviderType> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    store::find_provider(&mut connection, &key.user_pool_id, &key.provider_name)
        .await?
        .map(identity_provider)
        .ok_or_else(|| provider_not_found(&key.user_pool_id, &key.provider_name))
}

pub(crate) async fn provider_by_identifier(
    store: &AnyPool,
    query: &IdentifierQuery,
) -> CognitoResult<IdentityProviderType> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    store::find_provider_by_identifier(&mut connection, &query.user_pool_id, &query.identifier)
        .await?
        .map(identity_provider)
        .ok_or_else(|| {
            CognitoError::not_found(format!(
                "Identity provider with identifier {} for tenantId {} does not exist.",
                query.identifier, query.user_pool_id
            ))
        })
}

pub(crate) async fn list_providers(
    store: &AnyPool,
    query: &ListQuery,
) -> CognitoResult<ListIdentityProvidersResponse> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    // One row more than the page tells whether another page follows.
    let mut records = store::list_providers(
        &mut connection,
        &query.user_pool_id,
        query.after.as_deref(),
        query.page_size + 1,
    )
    .await?;
    let more = i64::try_from(records.len()).unwrap_or(i64::MAX) > query.page_size;
    records.truncate(usize::try_from(query.page_size).unwrap_or(usize::MAX));
    let next_token = if more {
        records
            .last()
            .map(|record| encode_page_token(&record.provider_name))
    } else {
        None
    };
    Ok(ListIdentityProvidersResponse {
        providers: records
            .into_iter()
            .map(|record| ProviderDescription {
                provider_name: Some(record.provider_name),
                provider_type: Some(record.provider_type),
                last_modified_date: Some(epoch_seconds(record.updated_at)),
                creation_date: Some(epoch_seconds(record.created_at)),
            })
            .collect(),
        next_token,
    })
}

pub(crate) async fn update_provider(
    store: &AnyPool,
    now_millis: i64,
    change: ProviderChange,
) -> CognitoResult<IdentityProviderType> {
    let not_found = || {
        CognitoError::not_found(format!(
            "Identity provider {} in User Pool {} does not exist.",
            change.provider_name, change.user_pool_id
        ))
    };
    let mut transaction = store.begin().await.map_err(store_error)?;
    let Some(mut record) = store::find_provider(
        &mut transaction,
        &change.user_pool_id,
        &change.provider_name,
    )
    .await?
    else {
        return Err(not_found());
    };
    if let Some(mut details) = change.provider_details.clone() {
        // Describe never shows Apple's private key, so a describe-edit-update round trip
        // omits it: keep the stored one.
        if record.provider_type == "SignInWithApple"
            && !present(&details, "private_key")
            && let Some(private_key) = record.provider_details.get("private_key")
        {
            details.insert("private_key".to_owned(), private_key.clone());
        }
        check_details(&record.provider_type, &details)?;
        record.provider_details = details;
    }
    if let Some(mapping) = change.attribute_mapping.clone() {
        record.attribute_mapping = mapping;
    }
    if let Some(identifiers) = change.idp_identifiers.clone() {
        record.idp_identifiers = identifiers;
    }
    record.updated_at = now_millis;
    if !store::replace_provider(&mut transaction, &record).await? {
        return Err(not_found());
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(identity_provider(record))
}

pub(crate) async fn delete_provider(store: &AnyPool, key: &ProviderKey) -> CognitoResult<()> {
    let mut transaction = store.begin().await.map_err(store_error)?;
    if !store::delete_provider(&mut transaction, &key.user_pool_id, &key.provider_name).await? {
        return Err(provider_not_found(&key.user_pool_id, &key.provider_name));
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use cognate_common::ErrorCode;
    use cognate_common::on_every_backend;

    const POOL: &str = "us-east-1_TestPool1";

    fn oidc_request(name: &str) -> CreateIdentityProviderRequest {
        CreateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some(name.to_owned()),
            provider_type: Some("OIDC".to_owned()),
            provider_details: HashMap::from([
                ("client_id".to_owned(), "upstream-client".to_owned()),
                ("authorize_scopes".to_owned(), "openid email".to_owned()),
                (
                    "oidc_issuer".to_owned(),
                    "https://issuer.example.com".to_owned(),
                ),
            ]),
            attribute_mapping: HashMap::new(),
            idp_identifiers: Vec::new(),
        }
    }

    fn new_oidc(name: &str) -> NewProvider {
        NewProvider::from_request(oidc_request(name)).expect("a valid OIDC provider")
    }

    fn key(name: &str) -> ProviderKey {
        ProviderKey::from_describe(&DescribeIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some(name.to_owned()),
        })
        .expect("a valid key")
    }

    fn list_query(max_results: Option<i32>, next_token: Option<String>) -> ListQuery {
        ListQuery::from_request(&ListIdentityProvidersRequest {
            user_pool_id: Some(POOL.to_owned()),
            max_results,
            next_token,
        })
        .expect("a valid list request")
    }

    #[test]
    fn provider_names_follow_the_create_pattern() {
        assert!(is_new_provider_name("Google"));
        assert!(is_new_provider_name("My-IdP.example"));
        assert!(
            is_new_provider_name("A_b"),
            "the second character may be an underscore"
        );
        assert!(!is_new_provider_name("my_idp"));
        assert!(!is_new_provider_name("_idp"));
        assert!(!is_new_provider_name("my idp"));
        assert!(
            !is_new_provider_name("ab"),
            "the pattern needs three characters"
        );
    }

    #[test]
    fn create_requests_are_checked_as_cognito_checks_them() {
        let mut request = oidc_request("Corp");
        request.provider_type = Some("Okta".to_owned());
        request.provider_name = Some("x".repeat(33));
        let error = NewProvider::from_request(request).expect_err("bad type and name");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
        assert!(
            error.message.starts_with("2 validation errors detected: "),
            "{}",
            error.message
        );
        assert!(error.message.contains(
            "Value 'Okta' at 'providerType' failed to satisfy constraint: Member must satisfy enum value set: [SAML, Facebook, Google, LoginWithAmazon, SignInWithApple, OIDC]"
        ));

        let mut request = oidc_request("Corp");
        request.provider_details.remove("oidc_issuer");
        let error = NewProvider::from_request(request).expect_err("no issuer");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
        assert!(error.message.contains("oidc_issuer"), "{}", error.message);

        let mut request = oidc_request("Corp");
        request.provider_type = Some("SAML".to_owned());
        let error = NewProvider::from_request(request).expect_err("no metadata");
        assert_eq!(
            error.message,
            "At least one of the MetadataURL or MetadataFile should be provided."
        );

        let mut request = oidc_request("MyGoogle");
        request.provider_type = Some("Google".to_owned());
        let error = NewProvider::from_request(request).expect_err("social name must be its type");
        assert_eq!(error.message, "Provider MyGoogle cannot be of type Google.");

        let mut request = oidc_request("Google");
        request.provider_type = Some("Google".to_owned());
        let error = NewProvider::from_request(request).expect_err("no client secret");
        assert_eq!(
            error.message,
            "client_id, client_secret and authorize_scopes are all required idp details."
        );

        let request = CreateIdentityProviderRequest::default();
        let error = NewProvider::from_request(request).expect_err("nothing given");
        assert!(
            error
                .message
                .starts_with("3 validation errors detected: Value null at 'userPoolId'")
        );
    }

    #[test]
    fn oidc_gets_a_default_username_mapping_and_a_given_mapping_is_kept() {
        let new = new_oidc("Corp");
        assert_eq!(
            new.attribute_mapping,
            BTreeMap::from([("username".to_owned(), "sub".to_owned())])
        );
        let mut request = oidc_request("Corp");
        request.attribute_mapping = HashMap::from([("email".to_owned(), "mail".to_owned())]);
        let new = NewProvider::from_request(request).expect("valid");
        assert_eq!(
            new.attribute_mapping,
            BTreeMap::from([("email".to_owned(), "mail".to_owned())])
        );
    }

    #[test]
    fn list_requests_check_max_results_and_the_token() {
        let error = ListQuery::from_request(&ListIdentityProvidersRequest {
            user_pool_id: Some(POOL.to_owned()),
            max_results: Some(61),
            next_token: None,
        })
        .expect_err("61 is too many");
        assert!(
            error
                .message
                .contains("Member must have value less than or equal to 60")
        );
        assert_eq!(list_query(Some(0), None).page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(list_query(None, None).page_size, DEFAULT_PAGE_SIZE);
        let error = ListQuery::from_request(&ListIdentityProvidersRequest {
            user_pool_id: Some(POOL.to_owned()),
            max_results: None,
            next_token: Some("not base64!".to_owned()),
        })
        .expect_err("a forged token");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
    }

    async fn creates_and_describes(store: &AnyPool) {
        let mut request = oidc_request("Corp");
        request.idp_identifiers = vec!["corp.example.com".to_owned(), "Corp2".to_owned()];
        let new = NewProvider::from_request(request).expect("valid");
        let created = create_provider(store, 1_700_000_000_123, new)
            .await
            .expect("creates");
        assert_eq!(created.provider_name.as_deref(), Some("Corp"));
        assert_eq!(created.provider_type.as_deref(), Some("OIDC"));
        assert_eq!(created.creation_date, Some(1_700_000_000.123));
        assert_eq!(created.last_modified_date, Some(1_700_000_000.123));

        let described = describe_provider(store, &key("Corp"))
            .await
            .expect("describes");
        assert_eq!(described, created);
        assert_eq!(described.idp_identifiers, vec!["corp.example.com", "Corp2"]);
        assert_eq!(
            described
                .provider_details
                .get("oidc_issuer")
                .map(String::as_str),
            Some("https://issuer.example.com")
        );
        assert_eq!(
            described
                .attribute_mapping
                .get("username")
                .map(String::as_str),
            Some("sub")
        );

        let by_identifier = provider_by_identifier(
            store,
            &IdentifierQuery::from_request(&GetIdentityProviderByIdentifierRequest {
                user_pool_id: Some(POOL.to_owned()),
                idp_identifier: Some("corp.example.com".to_owned()),
            })
            .expect("valid"),
        )
        .await
        .expect("found by identifier");
        assert_eq!(by_identifier, created);
    }

    async fn a_duplicate_name_is_refused(store: &AnyPool) {
        create_provider(store, 1_000, new_oidc("Corp"))
            .await
            .expect("creates");
        let error = create_provider(store, 2_000, new_oidc("Corp"))
            .await
            .expect_err("a second Corp");
        assert_eq!(error.code, ErrorCode::DuplicateProviderException);
        assert_eq!(
            error.message,
            format!("Corp already exists for tenant {POOL}.")
        );
        // The same name in another pool is another provider.
        let mut request = oidc_request("Corp");
        request.user_pool_id = Some("us-east-1_OtherPool".to_owned());
        let other = NewProvider::from_request(request).expect("valid");
        create_provider(store, 3_000, other)
            .await
            .expect("creates in another pool");
    }

    async fn an_identifier_belongs_to_one_provider(store: &AnyPool) {
        let mut first = oidc_request("First");
        first.idp_identifiers = vec!["shared.example.com".to_owned()];
        create_provider(
            store,
            1_000,
            NewProvider::from_request(first).expect("valid"),
        )
        .await
        .expect("creates");
        let mut second = oidc_request("Second");
        second.idp_identifiers = vec![
            "own.example.com".to_owned(),
            "shared.example.com".to_owned(),
        ];
        let error = create_provider(
            store,
            2_000,
            NewProvider::from_request(second).expect("valid"),
        )
        .await
        .expect_err("the identifier is taken");
        assert_eq!(error.code, ErrorCode::DuplicateProviderException);
        // Nothing of the refused provider remains, not even its first identifier.
        let error = describe_provider(store, &key("Second"))
            .await
            .expect_err("rolled back");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        let mut third = oidc_request("Third");
        third.idp_identifiers = vec!["own.example.com".to_owned()];
        create_provider(
            store,
            3_000,
            NewProvider::from_request(third).expect("valid"),
        )
        .await
        .expect("the released identifier is free");
    }

    async fn lists_in_pages(store: &AnyPool) {
        for (index, name) in ["Delta", "Alpha", "Echo", "Charlie", "Bravo"]
            .iter()
            .enumerate()
        {
            let millis = 1_000 * i64::try_from(index).expect("small");
            create_provider(store, millis, new_oidc(name))
                .await
                .expect("creates");
        }
        let mut seen = Vec::new();
        let mut token = None;
        let mut pages = 0;
        loop {
            let page = list_providers(store, &list_query(Some(2), token.clone()))
                .await
                .expect("lists");
            pages += 1;
            assert!(page.providers.len() <= 2);
            for provider in &page.providers {
                assert_eq!(provider.provider_type.as_deref(), Some("OIDC"));
                assert!(provider.creation_date.is_some());
                seen.push(provider.provider_name.clone().expect("a name"));
            }
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]);
        assert_eq!(pages, 3);

        let everything = list_providers(store, &list_query(None, None))
            .await
            .expect("lists");
        assert_eq!(everything.providers.len(), 5);
        assert_eq!(everything.next_token, None);

        let empty = ListQuery::from_request(&ListIdentityProvidersRequest {
            user_pool_id: Some("us-east-1_Empty".to_owned()),
            max_results: Some(10),
            next_token: None,
        })
        .expect("valid");
        let page = list_providers(store, &empty).await.expect("lists");
        assert!(page.providers.is_empty());
        assert_eq!(page.next_token, None);
    }

    async fn updates_what_is_given(store: &AnyPool) {
        let mut request = oidc_request("Corp");
        request.idp_identifiers = vec!["old.example.com".to_owned()];
        create_provider(
            store,
            1_000,
            NewProvider::from_request(request).expect("valid"),
        )
        .await
        .expect("creates");
        let change = ProviderChange::from_request(UpdateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some("Corp".to_owned()),
            provider_details: HashMap::new(),
            attribute_mapping: HashMap::from([("email".to_owned(), "mail".to_owned())]),
            idp_identifiers: vec!["new.example.com".to_owned()],
        })
        .expect("valid");
        let updated = update_provider(store, 5_000, change)
            .await
            .expect("updates");
        assert_eq!(updated.creation_date, Some(1.0));
        assert_eq!(updated.last_modified_date, Some(5.0));
        assert_eq!(updated.idp_identifiers, vec!["new.example.com"]);
        assert_eq!(
            updated.attribute_mapping.get("email").map(String::as_str),
            Some("mail")
        );
        // Details were not given: they stay.
        assert_eq!(updated.provider_details.len(), 3);
        assert_eq!(
            describe_provider(store, &key("Corp"))
                .await
                .expect("describes"),
            updated
        );

        // The old identifier is released, the new one is held.
        let mut other = oidc_request("Other");
        other.idp_identifiers = vec!["old.example.com".to_owned()];
        create_provider(
            store,
            6_000,
            NewProvider::from_request(other).expect("valid"),
        )
        .await
        .expect("old identifier is free");

        let bad_details = ProviderChange::from_request(UpdateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some("Corp".to_owned()),
            provider_details: HashMap::from([("client_id".to_owned(), "x".to_owned())]),
            ..Default::default()
        })
        .expect("valid shape");
        let error = update_provider(store, 7_000, bad_details)
            .await
            .expect_err("incomplete OIDC");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);

        let missing = ProviderChange::from_request(UpdateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some("Nobody".to_owned()),
            ..Default::default()
        })
        .expect("valid shape");
        let error = update_provider(store, 8_000, missing)
            .await
            .expect_err("unknown");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
    }

    async fn deletes_and_unknown_is_not_found(store: &AnyPool) {
        let mut request = oidc_request("Corp");
        request.idp_identifiers = vec!["corp.example.com".to_owned()];
        create_provider(
            store,
            1_000,
            NewProvider::from_request(request).expect("valid"),
        )
        .await
        .expect("creates");
        delete_provider(store, &key("Corp")).await.expect("deletes");

        let error = describe_provider(store, &key("Corp"))
            .await
            .expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        assert_eq!(
            error.message,
            format!("Identity provider Corp for tenantId {POOL} does not exist.")
        );
        let error = delete_provider(store, &key("Corp"))
            .await
            .expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        let query = IdentifierQuery::from_request(&GetIdentityProviderByIdentifierRequest {
            user_pool_id: Some(POOL.to_owned()),
            idp_identifier: Some("corp.example.com".to_owned()),
        })
        .expect("valid");
        let error = provider_by_identifier(store, &query)
            .await
            .expect_err("identifier released");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);

        // The name is free again.
        create_provider(store, 2_000, new_oidc("Corp"))
            .await
            .expect("recreates");
    }

    async fn apples_private_key_is_kept_but_never_shown(store: &AnyPool) {
        let request = CreateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some("SignInWithApple".to_owned()),
            provider_type: Some("SignInWithApple".to_owned()),
            provider_details: HashMap::from([
                ("client_id".to_owned(), "com.example.app".to_owned()),
                ("team_id".to_owned(), "TEAM".to_owned()),
                ("key_id".to_owned(), "KEY".to_owned()),
                (
                    "private_key".to_owned(),
                    "-----BEGIN PRIVATE KEY-----".to_owned(),
                ),
            ]),
            ..Default::default()
        };
        let created = create_provider(
            store,
            1_000,
            NewProvider::from_request(request).expect("valid"),
        )
        .await
        .expect("creates");
        assert!(!created.provider_details.contains_key("private_key"));
        // A describe-edit-update round trip has no private key to send back.
        let change = ProviderChange::from_request(UpdateIdentityProviderRequest {
            user_pool_id: Some(POOL.to_owned()),
            provider_name: Some("SignInWithApple".to_owned()),
            provider_details: created.provider_details.clone(),
            ..Default::default()
        })
        .expect("valid");
        let updated = update_provider(store, 2_000, change)
            .await
            .expect("keeps the stored key");
        assert!(!updated.provider_details.contains_key("private_key"));
        let mut connection = store.acquire().await.expect("connects");
        let stored = store::find_provider(&mut connection, POOL, "SignInWithApple")
            .await
            .expect("reads")
            .expect("exists");
        assert_eq!(
            stored
                .provider_details
                .get("private_key")
                .map(String::as_str),
            Some("-----BEGIN PRIVATE KEY-----")
        );
    }

    on_every_backend!(
        cognate_common::ServiceKind::Federation, crate::MIGRATOR;
        creates_and_describes,
        a_duplicate_name_is_refused,
        an_identifier_belongs_to_one_provider,
        lists_in_pages,
        updates_what_is_given,
        deletes_and_unknown_is_not_found,
        apples_private_key_is_kept_but_never_shown,
    );
}
