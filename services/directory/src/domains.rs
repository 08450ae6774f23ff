//! User pool domains (Create/Describe/Update/DeleteUserPoolDomain): a pool may have one prefix
//! domain and one custom domain, and a name belongs to one pool. Cognate serves its hosted pages
//! and OAuth2 endpoints at its public URL whatever the domain: a custom domain is a name the
//! operator's proxy answers for with its own certificate (the `CertificateArn` is kept and
//! reported, no certificate is provisioned), and where Cognito names its CloudFront
//! distribution, Cognate names the host of its public URL, where the name should point.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::unix_millis;
use cognate_common::store::Columns;
use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult};

use crate::Directory;
use crate::pool_admin::text;
use crate::pools::parse_stored;

/// Words Cognito keeps out of prefix domains.
const RESERVED_WORDS: &[&str] = &["aws", "amazon", "cognito"];
const PREFIX: &str = "PREFIX";
const CUSTOM: &str = "CUSTOM";

/// One DNS label as Cognito's `DomainType` pattern has it: `^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$`.
fn is_label(text: &str) -> bool {
    (1..=63).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

fn check_prefix(domain: &str) -> CognitoResult<()> {
    if !is_label(domain) {
        return Err(CognitoError::invalid_parameter(
            "The domain name contains an invalid character. Domain names can only contain lower-case letters, numbers, and hyphens. Please enter a different name that follows this format: ^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$",
        ));
    }
    match RESERVED_WORDS.iter().find(|word| domain.contains(*word)) {
        Some(word) => Err(CognitoError::invalid_parameter(format!(
            "Domain cannot contain reserved word: {word}"
        ))),
        None => Ok(()),
    }
}

/// A custom domain: a fully qualified lower-case name within `DomainType`'s 63 characters.
fn check_custom(domain: &str) -> CognitoResult<()> {
    if domain.len() > 63 {
        return Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{domain}' at 'domain' failed to satisfy constraint: Member must have length less than or equal to 63"
        )));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|label| is_label(label)) {
        return Err(CognitoError::invalid_parameter(format!(
            "{domain} is not a valid fully qualified domain name."
        )));
    }
    Ok(())
}

/// The request's `CustomDomainConfig.CertificateArn`, when it has a `CustomDomainConfig`.
fn certificate_arn(request: &Map<String, Json>) -> CognitoResult<Option<String>> {
    let Some(config) = request.get("CustomDomainConfig") else {
        return Ok(None);
    };
    config
        .get("CertificateArn")
        .and_then(Json::as_str)
        .filter(|arn| !arn.is_empty())
        .map(|arn| Some(arn.to_owned()))
        .ok_or_else(|| {
            CognitoError::invalid_parameter(
                "1 validation error detected: Value null at 'customDomainConfig.certificateArn' failed to satisfy constraint: Member must not be null",
            )
        })
}

/// `ManagedLoginVersion`: 1 (hosted UI, classic) or 2 (managed login).
fn managed_login_version(request: &Map<String, Json>) -> CognitoResult<Option<i64>> {
    match request.get("ManagedLoginVersion").map(Json::as_i64) {
        None => Ok(None),
        Some(Some(version @ (1 | 2))) => Ok(Some(version)),
        Some(_) => Err(CognitoError::invalid_parameter(
            "ManagedLoginVersion must be 1 (hosted UI) or 2 (managed login).",
        )),
    }
}

fn no_such_domain() -> CognitoError {
    CognitoError::invalid_parameter("No such domain or user pool exists.")
}

/// Create and Update answer the branding version, and for custom domains where to point them.
fn answer(description: &Json) -> Json {
    let custom = description.get("CustomDomainConfig").is_some();
    json!({
        "ManagedLoginVersion": description["ManagedLoginVersion"],
        "CloudFrontDomain": if custom { description["CloudFrontDistribution"].clone() } else { Json::Null },
    })
}

impl Directory {
    /// The host of the public URL: what a custom domain's DNS name should lead to.
    fn public_host(&self) -> String {
        let url = self.config.public_url();
        let without_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        without_scheme
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn create_user_pool_domain(
        &self,
        request: &Map<String, Json>,
    ) -> CognitoResult<Json> {
        let pool_id = text(request, "UserPoolId");
        let domain = text(request, "Domain");
        let certificate = certificate_arn(request)?;
        let kind = if certificate.is_some() {
            check_custom(domain)?;
            CUSTOM
        } else {
            check_prefix(domain)?;
            PREFIX
        };
        let version = managed_login_version(request)?.unwrap_or(1);
        self.load_pool(pool_id).await?;
        let mut description = json!({
            "UserPoolId": pool_id,
            "AWSAccountId": self.config.account_id,
            "Domain": domain,
            "CloudFrontDistribution": self.public_host(),
            "Status": "ACTIVE",
            "ManagedLoginVersion": version,
        });
        if let Some(arn) = certificate {
            description["CustomDomainConfig"] = json!({ "CertificateArn": arn });
        }
        let inserted = sqlx::query(
            "INSERT INTO user_pool_domains (domain, user_pool_id, kind, domain_json, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(domain)
        .bind(pool_id)
        .bind(kind)
        .bind(description.to_string())
        .bind(unix_millis(self.clock.now()))
        .execute(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(answer(&description)),
            Err(error) if is_unique_violation(&error) => {
                let owner =
                    sqlx::query("SELECT user_pool_id FROM user_pool_domains WHERE domain = $1")
                        .bind(domain)
                        .fetch_optional(&self.db)
                        .await
                        .map_err(store_error)?
                        .map(|row| row.read::<String>("user_pool_id"))
                        .transpose()?;
                Err(CognitoError::invalid_parameter(match owner {
                    Some(owner) if owner != pool_id => {
                        "Domain already associated with another user pool.".to_owned()
                    }
                    _ => format!("User pool {pool_id} already has a domain configured."),
                }))
            }
            Err(error) => Err(store_error(error)),
        }
    }

    /// DescribeUserPoolDomain: Cognito answers an unknown name with an empty description.
    pub async fn describe_user_pool_domain(&self, domain: &str) -> CognitoResult<Json> {
        let row = sqlx::query("SELECT domain_json FROM user_pool_domains WHERE domain = $1")
            .bind(domain)
            .fetch_optional(&self.db)
            .await
            .map_err(store_error)?;
        match row {
            Some(row) => parse_stored(row.read::<String>("domain_json")?.as_str()),
            None => Ok(json!({})),
        }
    }

    /// UpdateUserPoolDomain: the branding version, and a custom domain's certificate. The name
    /// itself never changes.
    pub async fn update_user_pool_domain(
        &self,
        request: &Map<String, Json>,
    ) -> CognitoResult<Json> {
        let pool_id = text(request, "UserPoolId");
        let domain = text(request, "Domain");
        let certificate = certificate_arn(request)?;
        let version = managed_login_version(request)?;
        self.load_pool(pool_id).await?;
        let row = sqlx::query(
            "SELECT kind, domain_json FROM user_pool_domains WHERE domain = $1 AND user_pool_id = $2",
        )
        .bind(domain)
        .bind(pool_id)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .ok_or_else(no_such_domain)?;
        let mut description = parse_stored(row.read::<String>("domain_json")?.as_str())?;
        if let Some(arn) = certificate {
            if row.read::<String>("kind")? != CUSTOM {
                return Err(CognitoError::invalid_parameter(
                    "CustomDomainConfig applies only to custom domains.",
                ));
            }
            description["CustomDomainConfig"] = json!({ "CertificateArn": arn });
        }
        if let Some(version) = version {
            description["ManagedLoginVersion"] = json!(version);
        }
        sqlx::query("UPDATE user_pool_domains SET domain_json = $1 WHERE domain = $2")
            .bind(description.to_string())
            .bind(domain)
            .execute(&self.db)
            .await
            .map_err(store_error)?;
        Ok(answer(&description))
    }

    pub async fn delete_user_pool_domain(&self, pool_id: &str, domain: &str) -> CognitoResult<()> {
        self.load_pool(pool_id).await?;
        let deleted =
            sqlx::query("DELETE FROM user_pool_domains WHERE domain = $1 AND user_pool_id = $2")
                .bind(domain)
                .bind(pool_id)
                .execute(&self.db)
                .await
                .map_err(store_error)?
                .rows_affected();
        if deleted == 0 {
            return Err(no_such_domain());
        }
        Ok(())
    }

    /// The pool's prefix and custom domain, as `UserPoolType`'s `Domain` and `CustomDomain`.
    pub(crate) async fn pool_domains(&self, pool_id: &str) -> CognitoResult<Map<String, Json>> {
        let rows =
            sqlx::query("SELECT domain, kind FROM user_pool_domains WHERE user_pool_id = $1")
                .bind(pool_id)
                .fetch_all(&self.db)
                .await
                .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let member = if row.read::<String>("kind")? == CUSTOM {
                    "CustomDomain"
                } else {
                    "Domain"
                };
                Ok((member.to_owned(), json!(row.read::<String>("domain")?)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_cognitos_pattern_and_reserved_words() {
        assert!(check_prefix("my-app-1").is_ok());
        for bad in ["", "-app", "app-", "My-app", "my.app", &"a".repeat(64)] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        let reserved = check_prefix("myaws-login").expect_err("reserved");
        assert_eq!(reserved.message, "Domain cannot contain reserved word: aws");
    }

    #[test]
    fn custom_domains_are_fully_qualified_names() {
        assert!(check_custom("auth.example.com").is_ok());
        for bad in [
            "localhost",
            "auth..example.com",
            "Auth.example.com",
            "auth.-x.com",
        ] {
            assert!(check_custom(bad).is_err(), "{bad:?}");
        }
    }
}
