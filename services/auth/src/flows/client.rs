//! How a sign-in proves its app client: the flows it allows, `SECRET_HASH`, the client secret.

use super::*;

/// Whether a client's `ExplicitAuthFlows` allow a flow (legacy and `ALLOW_` names both count;
/// an empty list means Cognito's default: SRP, custom and refresh).
pub(crate) fn flow_allowed(client: &idp::UserPoolClientType, flow: &str) -> bool {
    let accepted: &[&str] = match flow {
        "USER_PASSWORD_AUTH" => &["ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"],
        "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
            &["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"]
        }
        "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => return true,
        "USER_AUTH" => &["ALLOW_USER_AUTH"],
        "CUSTOM_AUTH" => {
            return client.explicit_auth_flows.is_empty()
                || client.explicit_auth_flows.iter().any(|allowed| {
                    matches!(
                        allowed.as_str(),
                        "ALLOW_CUSTOM_AUTH" | "CUSTOM_AUTH_FLOW_ONLY"
                    )
                });
        }
        // SRP is on by default, and with the legacy (non-ALLOW_) flow names.
        "USER_SRP_AUTH" => {
            return client.explicit_auth_flows.is_empty()
                || client
                    .explicit_auth_flows
                    .iter()
                    .all(|allowed| !allowed.starts_with("ALLOW_"))
                || client
                    .explicit_auth_flows
                    .iter()
                    .any(|allowed| allowed == "ALLOW_USER_SRP_AUTH");
        }
        _ => return false,
    };
    client
        .explicit_auth_flows
        .iter()
        .any(|allowed| accepted.contains(&allowed.as_str()))
}

/// `SECRET_HASH`, required from clients with a secret.
pub(crate) fn check_secret_hash(
    client: &crate::AppClient,
    username: &str,
    given: Option<&String>,
) -> CognitoResult<()> {
    cognate_common::secret_hash::check(
        client.client_id.as_deref().unwrap_or_default(),
        &client.secrets,
        username,
        given.map(String::as_str),
    )
}

/// How a refresh proves the client: `SECRET_HASH` (REFRESH_TOKEN_AUTH) or the client secret
/// itself (GetTokensFromRefreshToken).
pub(crate) enum ClientProof<'a> {
    SecretHash(Option<&'a String>),
    ClientSecret(Option<&'a str>),
}

/// The client secret, compared in constant time with each active secret, for clients that have
/// one.
pub(crate) fn check_client_secret(
    client: &crate::AppClient,
    given: Option<&str>,
) -> CognitoResult<()> {
    if client.secrets.is_empty() {
        return Ok(());
    }
    let given = given.unwrap_or_default();
    let matches = client.secrets.iter().fold(false, |matched, secret| {
        aws_lc_rs::constant_time::verify_slices_are_equal(secret.as_bytes(), given.as_bytes())
            .is_ok()
            | matched
    });
    if matches {
        Ok(())
    } else {
        Err(CognitoError::not_authorized(format!(
            "Unable to verify secret for client {}",
            client.client_id.as_deref().unwrap_or_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_follow_explicit_auth_flows() {
        let mut client = idp::UserPoolClientType::default();
        assert!(!flow_allowed(&client, "USER_PASSWORD_AUTH"));
        assert!(flow_allowed(&client, "REFRESH_TOKEN_AUTH"));
        client.explicit_auth_flows = vec!["ALLOW_USER_PASSWORD_AUTH".into()];
        assert!(flow_allowed(&client, "USER_PASSWORD_AUTH"));
        assert!(!flow_allowed(&client, "ADMIN_USER_PASSWORD_AUTH"));
        client.explicit_auth_flows = vec!["ADMIN_NO_SRP_AUTH".into()];
        assert!(flow_allowed(&client, "ADMIN_USER_PASSWORD_AUTH"));
    }
}
