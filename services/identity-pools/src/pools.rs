//! Identity pools and their identities: Cognito's request checks and defaults, and the
//! operations on the store. Only unauthenticated identities exist so far; a request with
//! `Logins` is refused plainly rather than half-served.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cognate_common::clock::epoch_seconds;
use cognate_common::store::store_error;
use cognate_common::{CognitoError, CognitoResult};
use cognate_proto::identity::v1::{
    CognitoIdentityProvider, CreateIdentityPoolInput, DeleteIdentityPoolInput,
    DescribeIdentityInput, DescribeIdentityPoolInput, GetIdInput, IdentityDescription,
    IdentityPool, IdentityPoolShortDescription, ListIdentitiesInput, ListIdentitiesResponse,
    ListIdentityPoolsInput, ListIdentityPoolsResponse,
};
use sqlx::AnyPool;

use crate::store::{self, After, IdentityRecord, PoolRecord};
use crate::validation::{
    VALIDATION_ERROR, Violations, is_account_id, is_developer_provider_name, is_pool_name,
    is_regional_id,
};

const REGIONAL_ID_PATTERN: &str = r"[\w-]+:[0-9a-f-]+";
const POOL_NAME_PATTERN: &str = r"[\w\s+=,.@-]+";
const DEVELOPER_PROVIDER_PATTERN: &str = r"[\w._-]+";

/// Verified (real AWS CLI output, see cognito-facts §8).
pub(crate) fn pool_not_found(identity_pool_id: &str) -> CognitoError {
    CognitoError::not_found(format!("IdentityPool '{identity_pool_id}' not found."))
}

/// Best estimate, by analogy with the pool's message.
fn identity_not_found(identity_id: &str) -> CognitoError {
    CognitoError::not_found(format!("Identity '{identity_id}' not found."))
}

fn check_regional_id(violations: &mut Violations, path: &str, id: Option<&str>) -> String {
    if let Some(id) = id {
        violations.length(path, id, 1, 55);
        violations.pattern(path, id, is_regional_id(id), REGIONAL_ID_PATTERN);
    }
    violations.required(path, id).to_owned()
}

/// MaxResults of the list operations: required, 1–60.
fn check_max_results(violations: &mut Violations, max_results: Option<i32>) -> i64 {
    match max_results {
        Some(max_results) => {
            violations.range("maxResults", i64::from(max_results), 1, 60);
            i64::from(max_results)
        }
        None => {
            violations.add(None, "maxResults", "Member must not be null");
            0
        }
    }
}

fn check_next_token(violations: &mut Violations, next_token: Option<&str>) {
    if let Some(token) = next_token {
        violations.length("nextToken", token, 1, 65_535);
    }
}

fn encode_page_token(after: &After) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", after.created_at, after.id))
}

fn decode_page_token(token: &str) -> CognitoResult<After> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (millis, id) = text.split_once(':')?;
            Some(After {
                created_at: millis.parse().ok()?,
                id: id.to_owned(),
            })
        })
        .ok_or_else(|| CognitoError::invalid_parameter("The pagination token is invalid."))
}

/// The settings CreateIdentityPool and UpdateIdentityPool share, checked.
#[derive(Debug)]
struct PoolSettings {
    identity_pool_name: String,
    allow_unauthenticated_identities: bool,
    allow_classic_flow: Option<bool>,
    supported_login_providers: HashMap<String, String>,
    developer_provider_name: Option<String>,
    open_id_connect_provider_arns: Vec<String>,
    cognito_identity_providers: Vec<CognitoIdentityProvider>,
    saml_provider_arns: Vec<String>,
    identity_pool_tags: HashMap<String, String>,
}

impl PoolSettings {
    fn check(violations: &mut Violations, settings: IdentityPool) -> Self {
        if let Some(name) = settings.identity_pool_name.as_deref() {
            violations.length("identityPoolName", name, 1, 128);
            violations.pattern(
                "identityPoolName",
                name,
                is_pool_name(name),
                POOL_NAME_PATTERN,
            );
        }
        let identity_pool_name = violations
            .required("identityPoolName", settings.identity_pool_name.as_deref())
            .to_owned();
        if settings.allow_unauthenticated_identities.is_none() {
            violations.add(
                None,
                "allowUnauthenticatedIdentities",
                "Member must not be null",
            );
        }
        if let Some(name) = settings.developer_provider_name.as_deref() {
            violations.length("developerProviderName", name, 1, 128);
            violations.pattern(
                "developerProviderName",
                name,
                is_developer_provider_name(name),
                DEVELOPER_PROVIDER_PATTERN,
            );
        }
        violations.map_size(
            "supportedLoginProviders",
            &settings.supported_login_providers,
            10,
        );
        Self {
            identity_pool_name,
            allow_unauthenticated_identities: settings
                .allow_unauthenticated_identities
                .unwrap_or_default(),
            allow_classic_flow: settings.allow_classic_flow,
            supported_login_providers: settings.supported_login_providers,
            developer_provider_name: settings.developer_provider_name,
            open_id_connect_provider_arns: settings.open_id_connect_provider_arns,
            cognito_identity_providers: settings.cognito_identity_providers,
            saml_provider_arns: settings.saml_provider_arns,
            identity_pool_tags: settings.identity_pool_tags,
        }
    }

    fn into_pool(self, identity_pool_id: String) -> IdentityPool {
        IdentityPool {
            identity_pool_id: Some(identity_pool_id),
            identity_pool_name: Some(self.identity_pool_name),
            allow_unauthenticated_identities: Some(self.allow_unauthenticated_identities),
            // Cognito answers AllowClassicFlow: false when it was not given.
            allow_classic_flow: Some(self.allow_classic_flow.unwrap_or(false)),
            supported_login_providers: self.supported_login_providers,
            developer_provider_name: self.developer_provider_name,
            open_id_connect_provider_arns: self.open_id_connect_provider_arns,
            cognito_identity_providers: self.cognito_identity_providers,
            saml_provider_arns: self.saml_provider_arns,
            identity_pool_tags: self.identity_pool_tags,
        }
    }
}

/// A checked CreateIdentityPool.
#[derive(Debug)]
pub(crate) struct NewPool {
    settings: PoolSettings,
}

impl NewPool {
    pub(crate) fn from_request(request: CreateIdentityPoolInput) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let settings = PoolSettings::check(
            &mut violations,
            IdentityPool {
                identity_pool_id: None,
                identity_pool_name: request.identity_pool_name,
                allow_unauthenticated_identities: request.allow_unauthenticated_identities,
                allow_classic_flow: request.allow_classic_flow,
                supported_login_providers: request.supported_login_providers,
                developer_provider_name: request.developer_provider_name,
                open_id_connect_provider_arns: request.open_id_connect_provider_arns,
                cognito_identity_providers: request.cognito_identity_providers,
                saml_provider_arns: request.saml_provider_arns,
                identity_pool_tags: request.identity_pool_tags,
            },
        );
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self { settings })
    }
}

/// A checked UpdateIdentityPool: the whole configuration, as Cognito replaces it.
#[derive(Debug)]
pub(crate) struct PoolUpdate {
    identity_pool_id: String,
    settings: PoolSettings,
}

impl PoolUpdate {
    pub(crate) fn from_request(request: IdentityPool) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let identity_pool_id = check_regional_id(
            &mut violations,
            "identityPoolId",
            request.identity_pool_id.as_deref(),
        );
        let settings = PoolSettings::check(&mut violations, request);
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self {
            identity_pool_id,
            settings,
        })
    }
}

/// A checked identity pool id (Describe, Delete).
#[derive(Debug)]
pub(crate) struct PoolId(String);

impl PoolId {
    fn checked(identity_pool_id: Option<&str>) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let id = check_regional_id(&mut violations, "identityPoolId", identity_pool_id);
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self(id))
    }

    pub(crate) fn from_describe(request: &DescribeIdentityPoolInput) -> CognitoResult<Self> {
        Self::checked(request.identity_pool_id.as_deref())
    }

    pub(crate) fn from_delete(request: &DeleteIdentityPoolInput) -> CognitoResult<Self> {
        Self::checked(request.identity_pool_id.as_deref())
    }
}

/// A checked page request: its size and where it starts.
#[derive(Debug)]
pub(crate) struct Page {
    size: i64,
    after: Option<After>,
}

impl Page {
    fn checked(
        violations: &mut Violations,
        max_results: Option<i32>,
        next_token: Option<&str>,
    ) -> Self {
        let size = check_max_results(violations, max_results);
        check_next_token(violations, next_token);
        Self { size, after: None }
    }

    /// Decodes the token once the constraints have passed.
    fn with_token(mut self, next_token: Option<&str>) -> CognitoResult<Self> {
        self.after = next_token.map(decode_page_token).transpose()?;
        Ok(self)
    }

    fn limit(&self) -> usize {
        usize::try_from(self.size).unwrap_or(usize::MAX)
    }
}

#[derive(Debug)]
pub(crate) struct PoolsQuery(Page);

impl PoolsQuery {
    pub(crate) fn from_request(request: &ListIdentityPoolsInput) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let page = Page::checked(
            &mut violations,
            request.max_results,
            request.next_token.as_deref(),
        );
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self(page.with_token(request.next_token.as_deref())?))
    }
}

#[derive(Debug)]
pub(crate) struct IdentitiesQuery {
    identity_pool_id: String,
    page: Page,
}

impl IdentitiesQuery {
    pub(crate) fn from_request(request: &ListIdentitiesInput) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let identity_pool_id = check_regional_id(
            &mut violations,
            "identityPoolId",
            request.identity_pool_id.as_deref(),
        );
        let page = Page::checked(
            &mut violations,
            request.max_results,
            request.next_token.as_deref(),
        );
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self {
            identity_pool_id,
            page: page.with_token(request.next_token.as_deref())?,
        })
    }
}

#[derive(Debug)]
pub(crate) struct IdentityId(String);

impl IdentityId {
    pub(crate) fn from_request(request: &DescribeIdentityInput) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let id = check_regional_id(
            &mut violations,
            "identityId",
            request.identity_id.as_deref(),
        );
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self(id))
    }
}

/// A checked GetId. No `Debug`: the logins are provider tokens.
pub(crate) struct GetIdQuery {
    identity_pool_id: String,
    account_id: Option<String>,
    logins: HashMap<String, String>,
}

impl GetIdQuery {
    pub(crate) fn from_request(request: GetIdInput) -> CognitoResult<Self> {
        let mut violations = Violations::new();
        let identity_pool_id = check_regional_id(
            &mut violations,
            "identityPoolId",
            request.identity_pool_id.as_deref(),
        );
        if let Some(account_id) = request.account_id.as_deref() {
            violations.length("accountId", account_id, 1, 15);
            violations.pattern("accountId", account_id, is_account_id(account_id), r"\d+");
        }
        violations.map_size("logins", &request.logins, 10);
        violations.finish_as(VALIDATION_ERROR)?;
        Ok(Self {
            identity_pool_id,
            account_id: request.account_id,
            logins: request.logins,
        })
    }
}

pub(crate) async fn create_pool(
    store: &AnyPool,
    region: &str,
    now_millis: i64,
    new: NewPool,
) -> CognitoResult<IdentityPool> {
    let pool = new
        .settings
        .into_pool(cognate_common::ids::regional_uuid(region));
    let record = PoolRecord {
        pool,
        created_at: now_millis,
    };
    let mut connection = store.acquire().await.map_err(store_error)?;
    store::insert_pool(&mut connection, &record).await?;
    Ok(record.pool)
}

pub(crate) async fn describe_pool(store: &AnyPool, id: &PoolId) -> CognitoResult<IdentityPool> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    store::find_pool(&mut connection, &id.0)
        .await?
        .map(|record| record.pool)
        .ok_or_else(|| pool_not_found(&id.0))
}

pub(crate) async fn list_pools(
    store: &AnyPool,
    query: &PoolsQuery,
) -> CognitoResult<ListIdentityPoolsResponse> {
    let page = &query.0;
    let mut connection = store.acquire().await.map_err(store_error)?;
    // One row more than the page tells whether another page follows.
    let mut records =
        store::list_pools(&mut connection, page.after.as_ref(), page.size + 1).await?;
    let more = records.len() > page.limit();
    records.truncate(page.limit());
    let next_token = records.last().filter(|_| more).map(|record| {
        encode_page_token(&After {
            created_at: record.created_at,
            id: record.pool.identity_pool_id.clone().unwrap_or_default(),
        })
    });
    Ok(ListIdentityPoolsResponse {
        identity_pools: records
            .into_iter()
            .map(|record| IdentityPoolShortDescription {
                identity_pool_id: record.pool.identity_pool_id,
                identity_pool_name: record.pool.identity_pool_name,
            })
            .collect(),
        next_token,
    })
}

pub(crate) async fn update_pool(
    store: &AnyPool,
    update: PoolUpdate,
) -> CognitoResult<IdentityPool> {
    let mut transaction = store.begin().await.map_err(store_error)?;
    let Some(existing) = store::find_pool(&mut transaction, &update.identity_pool_id).await? else {
        return Err(pool_not_found(&update.identity_pool_id));
    };
    let mut settings = update.settings;
    match (
        &existing.pool.developer_provider_name,
        &settings.developer_provider_name,
    ) {
        // Once set, the developer provider name cannot change (Cognito's documentation); an
        // update that leaves it out keeps it.
        (Some(current), Some(given)) if current != given => {
            return Err(CognitoError::invalid_parameter(
                "The DeveloperProviderName of an identity pool cannot be changed once it is set.",
            ));
        }
        (Some(current), None) => settings.developer_provider_name = Some(current.clone()),
        _ => {}
    }
    // The wire cannot tell absent tags from empty ones: keep the pool's tags unless new ones
    // are given (tags are otherwise managed by TagResource / UntagResource).
    if settings.identity_pool_tags.is_empty() {
        settings.identity_pool_tags = existing.pool.identity_pool_tags;
    }
    let pool = settings.into_pool(update.identity_pool_id);
    if !store::replace_pool(&mut transaction, &pool).await? {
        return Err(pool_not_found(
            pool.identity_pool_id.as_deref().unwrap_or_default(),
        ));
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(pool)
}

/// Deletes a pool with all its identities, in one transaction.
pub(crate) async fn delete_pool(store: &AnyPool, id: &PoolId) -> CognitoResult<()> {
    let mut transaction = store.begin().await.map_err(store_error)?;
    if !store::delete_pool(&mut transaction, &id.0).await? {
        return Err(pool_not_found(&id.0));
    }
    transaction.commit().await.map_err(store_error)?;
    Ok(())
}

/// GetId: a new unauthenticated identity, when the pool allows them. Returns its id.
pub(crate) async fn get_id(
    store: &AnyPool,
    account_id: &str,
    now_millis: i64,
    query: GetIdQuery,
) -> CognitoResult<String> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    let Some(record) = store::find_pool(&mut connection, &query.identity_pool_id).await? else {
        return Err(pool_not_found(&query.identity_pool_id));
    };
    if query
        .account_id
        .as_deref()
        .is_some_and(|given| given != account_id)
    {
        // The wording is a best estimate.
        return Err(CognitoError::not_authorized(format!(
            "Account {} does not own identity pool {}.",
            query.account_id.as_deref().unwrap_or_default(),
            query.identity_pool_id
        )));
    }
    if !query.logins.is_empty() {
        return Err(CognitoError::invalid_parameter(
            "Cognate does not support authenticated identities (Logins) yet.",
        ));
    }
    if record.pool.allow_unauthenticated_identities != Some(true) {
        // Verified (real AWS CLI output, see cognito-facts §8).
        return Err(CognitoError::not_authorized(
            "Unauthenticated access is not supported for this identity pool.",
        ));
    }
    // An identity id carries its pool's region.
    let region = query
        .identity_pool_id
        .split_once(':')
        .map_or(query.identity_pool_id.as_str(), |(region, _)| region);
    let identity = IdentityRecord {
        identity_id: cognate_common::ids::regional_uuid(region),
        identity_pool_id: query.identity_pool_id.clone(),
        logins: Vec::new(),
        created_at: now_millis,
        updated_at: now_millis,
    };
    if !store::insert_identity(&mut connection, &identity).await? {
        // The pool was deleted since it was read.
        return Err(pool_not_found(&query.identity_pool_id));
    }
    Ok(identity.identity_id)
}

fn identity_description(record: IdentityRecord) -> IdentityDescription {
    IdentityDescription {
        identity_id: Some(record.identity_id),
        logins: record.logins,
        creation_date: Some(epoch_seconds(record.created_at)),
        last_modified_date: Some(epoch_seconds(record.updated_at)),
    }
}

pub(crate) async fn describe_identity(
    store: &AnyPool,
    id: &IdentityId,
) -> CognitoResult<IdentityDescription> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    store::find_identity(&mut connection, &id.0)
        .await?
        .map(identity_description)
        .ok_or_else(|| identity_not_found(&id.0))
}

/// One page of a pool's identities. HideDisabled changes nothing: no identity is disabled yet.
pub(crate) async fn list_identities(
    store: &AnyPool,
    query: &IdentitiesQuery,
) -> CognitoResult<ListIdentitiesResponse> {
    let mut connection = store.acquire().await.map_err(store_error)?;
    if store::find_pool(&mut connection, &query.identity_pool_id)
        .await?
        .is_none()
    {
        return Err(pool_not_found(&query.identity_pool_id));
    }
    let page = &query.page;
    let mut records = store::list_identities(
        &mut connection,
        &query.identity_pool_id,
        page.after.as_ref(),
        page.size + 1,
    )
    .await?;
    let more = records.len() > page.limit();
    records.truncate(page.limit());
    let next_token = records.last().filter(|_| more).map(|record| {
        encode_page_token(&After {
            created_at: record.created_at,
            id: record.identity_id.clone(),
        })
    });
    Ok(ListIdentitiesResponse {
        identity_pool_id: Some(query.identity_pool_id.clone()),
        identities: records.into_iter().map(identity_description).collect(),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_common::ErrorCode;
    use cognate_common::on_every_backend;

    const REGION: &str = "eu-west-1";
    const ACCOUNT: &str = "123456789012";

    fn create_request(name: &str, allow_unauthenticated: bool) -> CreateIdentityPoolInput {
        CreateIdentityPoolInput {
            identity_pool_name: Some(name.to_owned()),
            allow_unauthenticated_identities: Some(allow_unauthenticated),
            ..Default::default()
        }
    }

    async fn create(
        store: &AnyPool,
        now: i64,
        name: &str,
        allow_unauthenticated: bool,
    ) -> IdentityPool {
        let new =
            NewPool::from_request(create_request(name, allow_unauthenticated)).expect("valid");
        create_pool(store, REGION, now, new).await.expect("creates")
    }

    fn pool_id(pool: &IdentityPool) -> PoolId {
        PoolId::from_describe(&DescribeIdentityPoolInput {
            identity_pool_id: pool.identity_pool_id.clone(),
        })
        .expect("a valid id")
    }

    fn get_id_query(pool: &IdentityPool) -> GetIdQuery {
        GetIdQuery::from_request(GetIdInput {
            identity_pool_id: pool.identity_pool_id.clone(),
            ..Default::default()
        })
        .expect("valid")
    }

    fn pools_query(max_results: i32, next_token: Option<String>) -> PoolsQuery {
        PoolsQuery::from_request(&ListIdentityPoolsInput {
            max_results: Some(max_results),
            next_token,
        })
        .expect("valid")
    }

    #[test]
    fn create_requests_are_checked() {
        let error = NewPool::from_request(CreateIdentityPoolInput::default()).expect_err("empty");
        assert_eq!(error.code, ErrorCode::ValidationException);
        assert_eq!(
            error.message,
            "2 validation errors detected: Value null at 'identityPoolName' failed to satisfy constraint: Member must not be null; Value null at 'allowUnauthenticatedIdentities' failed to satisfy constraint: Member must not be null"
        );
        let error = NewPool::from_request(create_request("bad/name", true)).expect_err("pattern");
        assert!(
            error
                .message
                .contains(r"Member must satisfy regular expression pattern: [\w\s+=,.@-]+")
        );
        let error = PoolId::from_describe(&DescribeIdentityPoolInput {
            identity_pool_id: Some("not-an-id".to_owned()),
        })
        .expect_err("bad id");
        assert_eq!(
            error.message,
            r"1 validation error detected: Value 'not-an-id' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w-]+:[0-9a-f-]+"
        );
        let error = PoolsQuery::from_request(&ListIdentityPoolsInput::default())
            .expect_err("MaxResults is required");
        assert!(error.message.contains("Value null at 'maxResults'"));
        let error = PoolsQuery::from_request(&ListIdentityPoolsInput {
            max_results: Some(10),
            next_token: Some("garbage!".to_owned()),
        })
        .expect_err("forged token");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
    }

    async fn creates_describes_and_defaults(store: &AnyPool) {
        let mut request = create_request("Players", true);
        request.supported_login_providers =
            HashMap::from([("graph.facebook.com".to_owned(), "12345".to_owned())]);
        request.developer_provider_name = Some("login.example.app".to_owned());
        let created = create_pool(
            store,
            REGION,
            1_000,
            NewPool::from_request(request).expect("valid"),
        )
        .await
        .expect("creates");
        let id = created.identity_pool_id.clone().expect("an id");
        assert!(id.starts_with("eu-west-1:"), "{id}");
        assert!(is_regional_id(&id), "{id}");
        assert_eq!(created.identity_pool_name.as_deref(), Some("Players"));
        assert_eq!(created.allow_unauthenticated_identities, Some(true));
        assert_eq!(created.allow_classic_flow, Some(false));
        assert!(created.identity_pool_tags.is_empty());

        let described = describe_pool(store, &pool_id(&created))
            .await
            .expect("describes");
        assert_eq!(described, created);

        let error = describe_pool(
            store,
            &PoolId::from_describe(&DescribeIdentityPoolInput {
                identity_pool_id: Some("eu-west-1:00000000-0000-0000-0000-000000000000".to_owned()),
            })
            .expect("valid"),
        )
        .await
        .expect_err("unknown");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        assert_eq!(
            error.message,
            "IdentityPool 'eu-west-1:00000000-0000-0000-0000-000000000000' not found."
        );
    }

    async fn lists_pools_in_pages(store: &AnyPool) {
        let mut created = Vec::new();
        for index in 0..5 {
            // Two pools share a creation time: the id breaks the tie.
            let now = 1_000 * (index / 2);
            created.push(create(store, now, &format!("pool{index}"), false).await);
        }
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = list_pools(store, &pools_query(2, token.clone()))
                .await
                .expect("lists");
            assert!(page.identity_pools.len() <= 2);
            seen.extend(
                page.identity_pools
                    .into_iter()
                    .map(|pool| pool.identity_pool_id.expect("id")),
            );
            match page.next_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<(i64, String)> = created
            .iter()
            .enumerate()
            .map(|(index, pool)| {
                (
                    1_000 * (i64::try_from(index).expect("small") / 2),
                    pool.identity_pool_id.clone().expect("id"),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(
            seen,
            expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        );

        let all = list_pools(store, &pools_query(60, None))
            .await
            .expect("lists");
        assert_eq!(all.identity_pools.len(), 5);
        assert_eq!(all.next_token, None);
        let all_ids: Vec<String> = all
            .identity_pools
            .into_iter()
            .map(|pool| pool.identity_pool_id.expect("id"))
            .collect();
        assert_eq!(all_ids, seen, "one page or five, the same order");
    }

    async fn updates_replace_the_configuration(store: &AnyPool) {
        let mut request = create_request("Before", false);
        request.developer_provider_name = Some("login.example.app".to_owned());
        request.identity_pool_tags = HashMap::from([("team".to_owned(), "games".to_owned())]);
        request.allow_classic_flow = Some(true);
        let created = create_pool(
            store,
            REGION,
            1_000,
            NewPool::from_request(request).expect("valid"),
        )
        .await
        .expect("creates");
        let update = PoolUpdate::from_request(IdentityPool {
            identity_pool_id: created.identity_pool_id.clone(),
            identity_pool_name: Some("After".to_owned()),
            allow_unauthenticated_identities: Some(true),
            ..Default::default()
        })
        .expect("valid");
        let updated = update_pool(store, update).await.expect("updates");
        assert_eq!(updated.identity_pool_name.as_deref(), Some("After"));
        assert_eq!(updated.allow_unauthenticated_identities, Some(true));
        assert_eq!(
            updated.allow_classic_flow,
            Some(false),
            "not given: back to the default"
        );
        assert_eq!(
            updated.developer_provider_name.as_deref(),
            Some("login.example.app")
        );
        assert_eq!(
            updated.identity_pool_tags.get("team").map(String::as_str),
            Some("games")
        );
        assert_eq!(
            describe_pool(store, &pool_id(&created))
                .await
                .expect("describes"),
            updated
        );

        let change_developer = PoolUpdate::from_request(IdentityPool {
            developer_provider_name: Some("other.example.app".to_owned()),
            ..updated.clone()
        })
        .expect("valid");
        let error = update_pool(store, change_developer)
            .await
            .expect_err("fixed once set");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);

        let unknown = PoolUpdate::from_request(IdentityPool {
            identity_pool_id: Some("eu-west-1:0000".to_owned()),
            ..updated
        })
        .expect("valid");
        let error = update_pool(store, unknown).await.expect_err("unknown");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
    }

    async fn get_id_serves_unauthenticated_identities_only_where_allowed(store: &AnyPool) {
        let open = create(store, 1_000, "Open", true).await;
        let closed = create(store, 1_000, "Closed", false).await;

        let identity_id = get_id(store, ACCOUNT, 2_000, get_id_query(&open))
            .await
            .expect("allowed");
        assert!(identity_id.starts_with("eu-west-1:"), "{identity_id}");
        assert!(is_regional_id(&identity_id));
        let another = get_id(store, ACCOUNT, 3_000, get_id_query(&open))
            .await
            .expect("allowed");
        assert_ne!(
            identity_id, another,
            "every unauthenticated GetId is a new identity"
        );

        let error = get_id(store, ACCOUNT, 2_000, get_id_query(&closed))
            .await
            .expect_err("refused");
        assert_eq!(error.code, ErrorCode::NotAuthorizedException);
        assert_eq!(
            error.message,
            "Unauthenticated access is not supported for this identity pool."
        );

        let with_account = |account: &str| {
            GetIdQuery::from_request(GetIdInput {
                account_id: Some(account.to_owned()),
                identity_pool_id: open.identity_pool_id.clone(),
                ..Default::default()
            })
            .expect("valid")
        };
        get_id(store, ACCOUNT, 4_000, with_account(ACCOUNT))
            .await
            .expect("the owner");
        let error = get_id(store, ACCOUNT, 4_000, with_account("999999999999"))
            .await
            .expect_err("another account");
        assert_eq!(error.code, ErrorCode::NotAuthorizedException);

        let with_logins = GetIdQuery::from_request(GetIdInput {
            identity_pool_id: open.identity_pool_id.clone(),
            logins: HashMap::from([("accounts.google.com".to_owned(), "token".to_owned())]),
            ..Default::default()
        })
        .expect("valid");
        let error = get_id(store, ACCOUNT, 5_000, with_logins)
            .await
            .expect_err("not built yet");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
        assert_eq!(
            error.message,
            "Cognate does not support authenticated identities (Logins) yet."
        );

        let unknown = GetIdQuery::from_request(GetIdInput {
            identity_pool_id: Some("eu-west-1:00000000-0000-0000-0000-000000000000".to_owned()),
            ..Default::default()
        })
        .expect("valid");
        let error = get_id(store, ACCOUNT, 6_000, unknown)
            .await
            .expect_err("unknown pool");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);

        let described = describe_identity(
            store,
            &IdentityId::from_request(&DescribeIdentityInput {
                identity_id: Some(identity_id.clone()),
            })
            .expect("valid"),
        )
        .await
        .expect("describes");
        assert_eq!(described.identity_id.as_deref(), Some(identity_id.as_str()));
        assert!(described.logins.is_empty());
        assert_eq!(described.creation_date, Some(2.0));
        assert_eq!(described.last_modified_date, Some(2.0));

        let page = |next_token: Option<String>| {
            IdentitiesQuery::from_request(&ListIdentitiesInput {
                identity_pool_id: open.identity_pool_id.clone(),
                max_results: Some(2),
                next_token,
                hide_disabled: None,
            })
            .expect("valid")
        };
        let first = list_identities(store, &page(None)).await.expect("lists");
        assert_eq!(first.identity_pool_id, open.identity_pool_id);
        assert_eq!(first.identities.len(), 2);
        assert_eq!(
            first.identities[0].identity_id.as_deref(),
            Some(identity_id.as_str())
        );
        let second = list_identities(store, &page(first.next_token.clone()))
            .await
            .expect("lists");
        assert_eq!(second.identities.len(), 1, "three identities in all");
        assert_eq!(second.next_token, None);
    }

    async fn deleting_a_pool_deletes_its_identities(store: &AnyPool) {
        let pool = create(store, 1_000, "Doomed", true).await;
        let kept = create(store, 1_000, "Kept", true).await;
        let identity_id = get_id(store, ACCOUNT, 2_000, get_id_query(&pool))
            .await
            .expect("allowed");
        let kept_identity = get_id(store, ACCOUNT, 2_000, get_id_query(&kept))
            .await
            .expect("allowed");

        let id = PoolId::from_delete(&DeleteIdentityPoolInput {
            identity_pool_id: pool.identity_pool_id.clone(),
        })
        .expect("valid");
        delete_pool(store, &id).await.expect("deletes");

        let error = describe_pool(store, &pool_id(&pool))
            .await
            .expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        let error = delete_pool(store, &id).await.expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        let describe = |id: &str| {
            IdentityId::from_request(&DescribeIdentityInput {
                identity_id: Some(id.to_owned()),
            })
            .expect("valid")
        };
        let error = describe_identity(store, &describe(&identity_id))
            .await
            .expect_err("gone with its pool");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        describe_identity(store, &describe(&kept_identity))
            .await
            .expect("another pool's identity stays");
        let error = get_id(store, ACCOUNT, 3_000, get_id_query(&pool))
            .await
            .expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
        let list = IdentitiesQuery::from_request(&ListIdentitiesInput {
            identity_pool_id: pool.identity_pool_id.clone(),
            max_results: Some(10),
            ..Default::default()
        })
        .expect("valid");
        let error = list_identities(store, &list).await.expect_err("gone");
        assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
    }

    on_every_backend!(
        cognate_common::ServiceKind::IdentityPools, crate::MIGRATOR;
        creates_describes_and_defaults,
        lists_pools_in_pages,
        updates_replace_the_configuration,
        get_id_serves_unauthenticated_identities_only_where_allowed,
        deleting_a_pool_deletes_its_identities,
    );
}
