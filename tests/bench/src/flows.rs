//! The setup (pool, client, users) and one operation of each measured flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use serde_json::{Value, json};

use cognate_common::srp;

use crate::api::{Edge, text};

pub const PASSWORD: &str = "Bench-Passw0rd!";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Srp,
    Password,
    Refresh,
    AdminCreateUser,
    /// A signed admin read: AdminGetUser of an existing user (SigV4 checked, one directory
    /// query), no cryptography beyond the signature.
    AdminGetUser,
    /// What every sign-in crosses, without its work: an InitiateAuth the client refuses
    /// (CUSTOM_AUTH is not enabled on it) goes edge → auth → directory (the pool, the client and
    /// the user, in one query) and back, with no cryptography and no writes.
    Floor,
}

impl Flow {
    /// The floor runs before AdminCreateUser, on the pool the sign-ins used. Run right after
    /// AdminCreateUser had added a few thousand users, it once cost the directory twice and
    /// Postgres ten times as much as before it, while the grown table was new to the planner.
    pub const ALL: [Flow; 6] = [
        Flow::Srp,
        Flow::Password,
        Flow::Refresh,
        Flow::Floor,
        Flow::AdminGetUser,
        Flow::AdminCreateUser,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Flow::Srp => "USER_SRP_AUTH",
            Flow::Password => "USER_PASSWORD_AUTH",
            Flow::Refresh => "REFRESH_TOKEN_AUTH",
            Flow::AdminCreateUser => "AdminCreateUser",
            Flow::AdminGetUser => "AdminGetUser",
            Flow::Floor => "floor",
        }
    }

    /// Calls through the edge to auth per operation, each of which costs at least the floor;
    /// zero where the flow does not take that path.
    pub fn sign_in_calls(self) -> u32 {
        match self {
            Flow::Srp => 2,
            Flow::Password | Flow::Refresh => 1,
            Flow::AdminCreateUser | Flow::AdminGetUser | Flow::Floor => 0,
        }
    }
}

/// What the flows need: the pool, its client, users and their refresh tokens.
pub struct Fixture {
    pub pool_id: String,
    /// The part of the pool id after `_`.
    pub pool_name: String,
    pub client_id: String,
    pub users: Vec<String>,
    pub refresh_tokens: Vec<String>,
    /// Numbers fresh usernames for AdminCreateUser.
    pub created: AtomicU64,
}

pub async fn setup(edge: &Edge, users: usize) -> anyhow::Result<Fixture> {
    let pool = edge
        .call(
            "CreateUserPool",
            &json!({"PoolName": format!("bench-{}", uuid::Uuid::new_v4().simple())}),
            true,
        )
        .await?;
    let pool_id = text(&pool, "/UserPool/Id")?.to_owned();
    let pool_name = pool_id
        .split_once('_')
        .map(|(_, name)| name.to_owned())
        .with_context(|| format!("pool id {pool_id} has no '_'"))?;
    let client = edge
        .call(
            "CreateUserPoolClient",
            &json!({
                "UserPoolId": pool_id,
                "ClientName": "bench",
                "ExplicitAuthFlows": [
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_USER_SRP_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                ],
            }),
            true,
        )
        .await?;
    let client_id = text(&client, "/UserPoolClient/ClientId")?.to_owned();

    let mut names = Vec::new();
    let mut refresh_tokens = Vec::new();
    for index in 0..users {
        let username = format!("user{index:05}");
        edge.call(
            "AdminCreateUser",
            &json!({
                "UserPoolId": pool_id,
                "Username": username,
                "TemporaryPassword": PASSWORD,
                "MessageAction": "SUPPRESS",
            }),
            true,
        )
        .await?;
        edge.call(
            "AdminSetUserPassword",
            &json!({
                "UserPoolId": pool_id,
                "Username": username,
                "Password": PASSWORD,
                "Permanent": true,
            }),
            true,
        )
        .await?;
        let signed_in = password_sign_in(edge, &client_id, &username).await?;
        refresh_tokens.push(text(&signed_in, "/AuthenticationResult/RefreshToken")?.to_owned());
        names.push(username);
    }
    Ok(Fixture {
        pool_id,
        pool_name,
        client_id,
        users: names,
        refresh_tokens,
        created: AtomicU64::new(0),
    })
}

async fn password_sign_in(edge: &Edge, client_id: &str, username: &str) -> anyhow::Result<Value> {
    let answer = edge
        .call(
            "InitiateAuth",
            &json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD},
            }),
            false,
        )
        .await?;
    text(&answer, "/AuthenticationResult/AccessToken")?;
    Ok(answer)
}

/// One operation of `flow`; `sequence` picks the user.
pub async fn run_once(
    flow: Flow,
    edge: &Edge,
    fixture: &Arc<Fixture>,
    sequence: usize,
) -> anyhow::Result<()> {
    let user = &fixture.users[sequence % fixture.users.len()];
    match flow {
        Flow::Password => {
            password_sign_in(edge, &fixture.client_id, user).await?;
        }
        Flow::Srp => {
            let mut client = srp::client::Client::new(&fixture.pool_name, user, PASSWORD);
            let challenge = edge
                .call(
                    "InitiateAuth",
                    &json!({
                        "AuthFlow": "USER_SRP_AUTH",
                        "ClientId": fixture.client_id,
                        "AuthParameters": {"USERNAME": user, "SRP_A": client.big_a()},
                    }),
                    false,
                )
                .await?;
            anyhow::ensure!(
                challenge["ChallengeName"] == "PASSWORD_VERIFIER",
                "expected PASSWORD_VERIFIER, got {challenge}"
            );
            let parameters = &challenge["ChallengeParameters"];
            let user_id = text(parameters, "/USER_ID_FOR_SRP")?;
            let salt = text(parameters, "/SALT")?;
            let srp_b = text(parameters, "/SRP_B")?;
            let secret_block = text(parameters, "/SECRET_BLOCK")?;
            client.user_id = user_id.to_owned();
            let now = srp::timestamp(time::OffsetDateTime::now_utc());
            let signature = client.signature(salt, srp_b, secret_block, &now);
            let mut request = json!({
                "ChallengeName": "PASSWORD_VERIFIER",
                "ClientId": fixture.client_id,
                "ChallengeResponses": {
                    "USERNAME": user_id,
                    "PASSWORD_CLAIM_SECRET_BLOCK": secret_block,
                    "PASSWORD_CLAIM_SIGNATURE": signature,
                    "TIMESTAMP": now,
                },
            });
            if let Some(session) = challenge["Session"].as_str() {
                request["Session"] = json!(session);
            }
            let answer = edge.call("RespondToAuthChallenge", &request, false).await?;
            text(&answer, "/AuthenticationResult/AccessToken")?;
        }
        Flow::Refresh => {
            let token = &fixture.refresh_tokens[sequence % fixture.refresh_tokens.len()];
            let answer = edge
                .call(
                    "InitiateAuth",
                    &json!({
                        "AuthFlow": "REFRESH_TOKEN_AUTH",
                        "ClientId": fixture.client_id,
                        "AuthParameters": {"REFRESH_TOKEN": token},
                    }),
                    false,
                )
                .await?;
            text(&answer, "/AuthenticationResult/AccessToken")?;
        }
        Flow::Floor => {
            edge.refused(
                "InitiateAuth",
                &json!({
                    "AuthFlow": "CUSTOM_AUTH",
                    "ClientId": fixture.client_id,
                    "AuthParameters": {"USERNAME": user},
                }),
                // Only auth's check of the client's flows, after the directory answered, says so.
                (
                    "InvalidParameterException",
                    "CUSTOM_AUTH flow not enabled for this client",
                ),
            )
            .await?;
        }
        Flow::AdminGetUser => {
            let answer = edge
                .call(
                    "AdminGetUser",
                    &json!({"UserPoolId": fixture.pool_id, "Username": user}),
                    true,
                )
                .await?;
            text(&answer, "/Username")?;
        }
        Flow::AdminCreateUser => {
            let number = fixture.created.fetch_add(1, Ordering::Relaxed);
            let answer = edge
                .call(
                    "AdminCreateUser",
                    &json!({
                        "UserPoolId": fixture.pool_id,
                        "Username": format!("new{number:07}"),
                        "TemporaryPassword": PASSWORD,
                        "MessageAction": "SUPPRESS",
                    }),
                    true,
                )
                .await?;
            text(&answer, "/User/Username")?;
        }
    }
    Ok(())
}
