//! Device tracking through the AWS SDK for Rust, in both topologies: NewDeviceMetadata on sign-in,
//! ConfirmDevice with a device verifier computed as amazon-cognito-identity-js computes it,
//! DEVICE_SRP_AUTH → DEVICE_PASSWORD_VERIFIER after the MFA challenge for a device that is not
//! remembered and instead of it for a remembered one, and the device operations with their
//! Admin variants.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, AuthenticationResultType, ChallengeNameType, DeviceConfigurationType,
    DeviceRememberedStatusType, DeviceSecretVerifierConfigType, DeviceType, ExplicitAuthFlowsType,
    SmsMfaSettingsType, UserPoolMfaType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cognate_common::ServiceKind;
use cognate_common::srp;
use cognate_tests::{Sandbox, both_topologies, error_code, totp_code, totp_step, verify_jwt};

const PASSWORD: &str = "Correct-horse-1";

/// What a client keeps of a confirmed device.
struct RememberedDevice {
    key: String,
    group_key: String,
    password: String,
}

/// A pool with optional MFA and `devices` as its DeviceConfiguration, a password client, and
/// the user jane.
async fn pool(idp: &Client, devices: Option<DeviceConfigurationType>) -> (String, String) {
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("devices")
            .mfa_configuration(UserPoolMfaType::Optional)
            .set_device_configuration(devices),
    )
    .await;
    let client_id = cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(&pool_id)
            .client_name("app")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth),
    )
    .await;
    cognate_tests::confirmed_user(idp, &pool_id, "jane", PASSWORD).await;
    (pool_id, client_id)
}

async fn sign_in(
    idp: &Client,
    client_id: &str,
    device_key: Option<&str>,
) -> Result<aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput, String> {
    let mut request = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", PASSWORD);
    if let Some(key) = device_key {
        request = request.auth_parameters("DEVICE_KEY", key);
    }
    request.send().await.map_err(|error| error_code(&error))
}

/// Signs in with the device and expects `expected`; returns its session.
async fn challenge_for(
    idp: &Client,
    client_id: &str,
    device: &RememberedDevice,
    expected: ChallengeNameType,
) -> String {
    let challenge = sign_in(idp, client_id, Some(&device.key))
        .await
        .expect("password accepted");
    assert_eq!(challenge.challenge_name(), Some(&expected));
    challenge.session().expect("session").to_owned()
}

/// DEVICE_SRP_AUTH then DEVICE_PASSWORD_VERIFIER with the device's secret `password`.
async fn device_srp(
    idp: &Client,
    client_id: &str,
    session: &str,
    device: &RememberedDevice,
    password: &str,
) -> Result<RespondToAuthChallengeOutput, String> {
    let client = srp::client::Client::new(&device.group_key, &device.key, password);
    let challenge = idp
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::DeviceSrpAuth)
        .session(session)
        .challenge_responses("USERNAME", "jane")
        .challenge_responses("DEVICE_KEY", &device.key)
        .challenge_responses("SRP_A", client.big_a())
        .send()
        .await
        .map_err(|error| error_code(&error))?;
    assert_eq!(
        challenge.challenge_name(),
        Some(&ChallengeNameType::DevicePasswordVerifier)
    );
    let values = challenge.challenge_parameters().expect("parameters");
    assert_eq!(values["DEVICE_KEY"], device.key);
    let timestamp = srp::timestamp(time::OffsetDateTime::now_utc());
    let signature = client.signature(
        &values["SALT"],
        &values["SRP_B"],
        &values["SECRET_BLOCK"],
        &timestamp,
    );
    idp.respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::DevicePasswordVerifier)
        .session(challenge.session().expect("session"))
        .challenge_responses("USERNAME", "jane")
        .challenge_responses("DEVICE_KEY", &device.key)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &values["SECRET_BLOCK"])
        .challenge_responses("TIMESTAMP", &timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", signature)
        .send()
        .await
        .map_err(|error| error_code(&error))
}

/// ConfirmDevice as amazon-cognito-identity-js does it: a random device password, a random
/// salt, and the verifier of `group key ‖ device key ‖ ":" ‖ password`.
async fn confirm(idp: &Client, tokens: &AuthenticationResultType) -> (RememberedDevice, bool) {
    let metadata = tokens.new_device_metadata().expect("NewDeviceMetadata");
    let device = RememberedDevice {
        key: metadata.device_key().expect("key").to_owned(),
        group_key: metadata.device_group_key().expect("group key").to_owned(),
        password: STANDARD.encode(uuid::Uuid::new_v4().as_bytes()),
    };
    let salt = hex::encode(uuid::Uuid::new_v4().as_bytes());
    let verifier = srp::verifier_with_salt(&device.group_key, &device.key, &device.password, &salt)
        .expect("verifier");
    let verifier_hex = if verifier.verifier.len() % 2 == 1 {
        format!("0{}", verifier.verifier)
    } else {
        verifier.verifier
    };
    let confirmed = idp
        .confirm_device()
        .access_token(tokens.access_token().expect("access token"))
        .device_key(&device.key)
        .device_name("laptop")
        .device_secret_verifier_config(
            DeviceSecretVerifierConfigType::builder()
                .salt(STANDARD.encode(hex::decode(salt).expect("hex")))
                .password_verifier(STANDARD.encode(hex::decode(verifier_hex).expect("hex")))
                .build(),
        )
        .send()
        .await
        .expect("device confirmed");
    (device, confirmed.user_confirmation_necessary())
}

/// Associates and verifies an authenticator for the token's user: its secret and the time step
/// of the code that verified it.
async fn authenticator(idp: &Client, access_token: &str) -> (String, i64) {
    let secret = idp
        .associate_software_token()
        .access_token(access_token)
        .send()
        .await
        .expect("associated")
        .secret_code
        .expect("secret");
    let step = totp_step();
    idp.verify_software_token()
        .access_token(access_token)
        .user_code(totp_code(&secret, step))
        .send()
        .await
        .expect("authenticator verified");
    (secret, step)
}

fn attribute<'a>(device: &'a DeviceType, name: &str) -> Option<&'a str> {
    device
        .device_attributes()
        .iter()
        .find(|attribute| attribute.name() == name)
        .and_then(|attribute| attribute.value())
}

async fn remembered_devices_replace_mfa(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let tracking = DeviceConfigurationType::builder()
        .challenge_required_on_new_device(true)
        .device_only_remembered_on_user_prompt(true)
        .build();
    let (pool_id, client_id) = pool(&idp, Some(tracking)).await;
    let first = sign_in(&idp, &client_id, None).await.expect("signed in");
    let tokens = first.authentication_result().expect("no MFA yet").clone();
    let access_token = tokens.access_token().expect("access token").to_owned();
    let (secret, step) = authenticator(&idp, &access_token).await;

    let (device, necessary) = confirm(&idp, &tokens).await;
    let jwks = sandbox.jwks(&pool_id).await;
    let claims = verify_jwt(&access_token, &jwks).expect("verifies");
    assert_eq!(
        claims["device_key"],
        device.key.as_str(),
        "the device handed out"
    );
    assert!(necessary, "DeviceOnlyRememberedOnUserPrompt asks the user");
    let listed = idp
        .list_devices()
        .access_token(&access_token)
        .send()
        .await
        .expect("listed");
    assert_eq!(listed.devices().len(), 1);
    let listed_device = &listed.devices()[0];
    assert_eq!(listed_device.device_key(), Some(device.key.as_str()));
    assert_eq!(attribute(listed_device, "device_name"), Some("laptop"));
    assert_eq!(
        attribute(listed_device, "dev:device_remembered_status"),
        Some("not_remembered")
    );

    // A device that is not remembered: MFA first, then the device proves itself.
    let session = challenge_for(
        &idp,
        &client_id,
        &device,
        ChallengeNameType::SoftwareTokenMfa,
    )
    .await;
    let after_mfa = idp
        .respond_to_auth_challenge()
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(&session)
        .challenge_responses("USERNAME", "jane")
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", totp_code(&secret, step + 1))
        .send()
        .await
        .expect("code accepted");
    assert_eq!(
        after_mfa.challenge_name(),
        Some(&ChallengeNameType::DeviceSrpAuth)
    );
    let done = device_srp(
        &idp,
        &client_id,
        after_mfa.session().expect("session"),
        &device,
        &device.password,
    )
    .await
    .expect("device proof accepted");
    let tokens = done.authentication_result().expect("tokens");
    assert!(tokens.id_token().is_some());
    assert!(
        tokens.new_device_metadata().is_none(),
        "a known device gets no new one"
    );
    let claims = verify_jwt(tokens.access_token().expect("access token"), &jwks).expect("verifies");
    assert_eq!(
        claims["device_key"],
        device.key.as_str(),
        "the device proved"
    );
    let refreshed = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id(&client_id)
        .auth_parameters(
            "REFRESH_TOKEN",
            tokens.refresh_token().expect("refresh token"),
        )
        .auth_parameters("DEVICE_KEY", &device.key)
        .send()
        .await
        .expect("refreshed");
    let refreshed_access = refreshed
        .authentication_result()
        .and_then(|tokens| tokens.access_token())
        .expect("access token");
    let claims = verify_jwt(refreshed_access, &jwks).expect("verifies");
    assert_eq!(
        claims["device_key"],
        device.key.as_str(),
        "kept across refresh"
    );

    idp.update_device_status()
        .access_token(&access_token)
        .device_key(&device.key)
        .device_remembered_status(DeviceRememberedStatusType::Remembered)
        .send()
        .await
        .expect("remembered");
    // A remembered device replaces MFA; a wrong device secret is refused.
    let session = challenge_for(&idp, &client_id, &device, ChallengeNameType::DeviceSrpAuth).await;
    let wrong = device_srp(
        &idp,
        &client_id,
        &session,
        &device,
        "not-the-device-password",
    )
    .await
    .expect_err("wrong device secret");
    assert_eq!(wrong, "NotAuthorizedException");
    let session = challenge_for(&idp, &client_id, &device, ChallengeNameType::DeviceSrpAuth).await;
    let done = device_srp(&idp, &client_id, &session, &device, &device.password)
        .await
        .expect("remembered device signs in without MFA");
    assert!(
        done.authentication_result()
            .and_then(|tokens| tokens.access_token())
            .is_some()
    );

    let admin_view = idp
        .admin_get_device()
        .user_pool_id(&pool_id)
        .username("jane")
        .device_key(&device.key)
        .send()
        .await
        .expect("device");
    let viewed = admin_view.device().expect("device");
    assert_eq!(
        attribute(viewed, "dev:device_remembered_status"),
        Some("remembered")
    );
    assert!(viewed.device_last_authenticated_date().is_some());
    let own_view = idp
        .get_device()
        .access_token(&access_token)
        .device_key(&device.key)
        .send()
        .await
        .expect("device");
    assert_eq!(
        own_view.device().and_then(DeviceType::device_key),
        Some(device.key.as_str())
    );
    let admin_list = idp
        .admin_list_devices()
        .user_pool_id(&pool_id)
        .username("jane")
        .limit(1)
        .send()
        .await
        .expect("listed");
    assert_eq!(admin_list.devices().len(), 1);
    assert!(
        admin_list.pagination_token().is_none(),
        "one device, one page"
    );

    // Not remembered any more: MFA again.
    idp.admin_update_device_status()
        .user_pool_id(&pool_id)
        .username("jane")
        .device_key(&device.key)
        .device_remembered_status(DeviceRememberedStatusType::NotRemembered)
        .send()
        .await
        .expect("forgotten as remembered");
    challenge_for(
        &idp,
        &client_id,
        &device,
        ChallengeNameType::SoftwareTokenMfa,
    )
    .await;

    let unknown = sign_in(&idp, &client_id, Some("us-east-1_not-a-device"))
        .await
        .expect_err("unknown device");
    assert_eq!(unknown, "ResourceNotFoundException");
    idp.forget_device()
        .access_token(&access_token)
        .device_key(&device.key)
        .send()
        .await
        .expect("forgotten");
    let gone = sign_in(&idp, &client_id, Some(&device.key))
        .await
        .expect_err("a forgotten device");
    assert_eq!(gone, "ResourceNotFoundException");
    forgotten_device_with_srp(&idp, &pool_id, &client_id, &device.key).await;
    let missing = idp
        .admin_forget_device()
        .user_pool_id(&pool_id)
        .username("jane")
        .device_key(&device.key)
        .send()
        .await
        .expect_err("already forgotten");
    assert_eq!(error_code(&missing), "ResourceNotFoundException");
}

both_topologies!(devices, remembered_devices_replace_mfa);

/// USER_SRP_AUTH with a device the pool no longer knows: the PASSWORD_VERIFIER answer naming it
/// is refused before the session is used up, so the client answers again without it, as
/// amazon-cognito-identity-js does.
async fn forgotten_device_with_srp(idp: &Client, pool_id: &str, client_id: &str, device_key: &str) {
    let pool_name = pool_id
        .split_once('_')
        .map(|(_, name)| name)
        .unwrap_or_default();
    let user = srp::client::Client::new(pool_name, "jane", PASSWORD);
    let challenge = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserSrpAuth)
        .client_id(client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("SRP_A", user.big_a())
        .auth_parameters("DEVICE_KEY", device_key)
        .send()
        .await
        .expect("the device is checked with the answer");
    let values = challenge.challenge_parameters().expect("parameters");
    let timestamp = srp::timestamp(time::OffsetDateTime::now_utc());
    let signature = user.signature(
        &values["SALT"],
        &values["SRP_B"],
        &values["SECRET_BLOCK"],
        &timestamp,
    );
    let answer = |device: Option<&str>| {
        let mut request = idp
            .respond_to_auth_challenge()
            .client_id(client_id)
            .challenge_name(ChallengeNameType::PasswordVerifier)
            .challenge_responses("USERNAME", "jane")
            .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &values["SECRET_BLOCK"])
            .challenge_responses("TIMESTAMP", &timestamp)
            .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &signature);
        if let Some(key) = device {
            request = request.challenge_responses("DEVICE_KEY", key);
        }
        request.send()
    };
    let refused = answer(Some(device_key)).await.expect_err("unknown device");
    assert_eq!(error_code(&refused), "ResourceNotFoundException");
    let accepted = answer(None)
        .await
        .expect("the same answer without the device");
    // Without a remembered device, jane's authenticator is asked for.
    assert_eq!(
        accepted.challenge_name(),
        Some(&ChallengeNameType::SoftwareTokenMfa)
    );
}

async fn devices_are_listed_in_pages(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let tracking = DeviceConfigurationType::builder()
        .challenge_required_on_new_device(false)
        .build();
    let (pool_id, client_id) = pool(&idp, Some(tracking)).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let answer = sign_in(&idp, &client_id, None).await.expect("signed in");
        let tokens = answer.authentication_result().expect("tokens");
        let (device, necessary) = confirm(&idp, tokens).await;
        assert!(!necessary, "remembered without asking");
        keys.push(device.key);
    }
    keys.sort();
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = idp
            .admin_list_devices()
            .user_pool_id(&pool_id)
            .username("jane")
            .limit(2)
            .set_pagination_token(token)
            .send()
            .await
            .expect("page");
        assert!(page.devices().len() <= 2);
        for device in page.devices() {
            assert_eq!(
                attribute(device, "dev:device_remembered_status"),
                Some("remembered")
            );
            listed.push(device.device_key().expect("key").to_owned());
        }
        token = page.pagination_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, keys, "every device once, in pages of two");
}

both_topologies!(device_pages, devices_are_listed_in_pages);

async fn pools_without_device_tracking_hand_out_no_devices(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let (_, client_id) = pool(&idp, None).await;
    let answer = sign_in(&idp, &client_id, Some("us-east-1_ignored"))
        .await
        .expect("a device key is ignored without device tracking");
    let tokens = answer.authentication_result().expect("tokens");
    assert!(tokens.new_device_metadata().is_none());
}

both_topologies!(
    no_device_tracking,
    pools_without_device_tracking_hand_out_no_devices
);

/// What the auth service holds for a user, table by table.
const USER_TABLES: [&str; 6] = [
    "refresh_tokens",
    "user_sign_outs",
    "devices",
    "software_tokens",
    "otp_factors",
    "lockouts",
];

async fn auth_rows(
    sandbox: &Sandbox,
    pool_id: &str,
    sub: Option<&str>,
) -> Vec<(&'static str, i64)> {
    let mut rows = Vec::new();
    for table in USER_TABLES.iter().chain(&["signing_keys"]) {
        if sub.is_some() && *table == "signing_keys" {
            continue;
        }
        rows.push((
            *table,
            sandbox
                .stored_rows(ServiceKind::Auth, table, pool_id, sub)
                .await,
        ));
    }
    rows
}

async fn sub_of(idp: &Client, pool_id: &str) -> String {
    idp.admin_get_user()
        .user_pool_id(pool_id)
        .username("jane")
        .send()
        .await
        .expect("user found")
        .user_attributes()
        .iter()
        .find(|attribute| attribute.name() == "sub")
        .and_then(|attribute| attribute.value())
        .expect("sub")
        .to_owned()
}

/// A deleted user leaves nothing behind in the auth service: the same username created again
/// has no devices, no MFA, and the old refresh token is refused (AdminDeleteUser and DeleteUser
/// alike). A deleted pool takes its users' rows and signing keys along; another pool's stay.
async fn deleted_users_and_pools_are_forgotten(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let always_remembered = DeviceConfigurationType::builder()
        .challenge_required_on_new_device(true)
        .device_only_remembered_on_user_prompt(false)
        .build();
    let (pool_id, client_id) = pool(&idp, Some(always_remembered)).await;
    let tokens = sign_in(&idp, &client_id, None)
        .await
        .expect("signed in")
        .authentication_result()
        .expect("no MFA yet")
        .clone();
    let access_token = tokens.access_token().expect("access token");
    authenticator(&idp, access_token).await;
    let (device, necessary) = confirm(&idp, &tokens).await;
    assert!(!necessary, "the device is remembered without asking");
    let wrong = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&client_id)
        .auth_parameters("USERNAME", "jane")
        .auth_parameters("PASSWORD", "Wrong-horse-1")
        .send()
        .await
        .expect_err("wrong password");
    assert_eq!(error_code(&wrong), "NotAuthorizedException");
    idp.admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("jane")
        .user_attributes(cognate_tests::attribute("phone_number", "+15555550100"))
        .send()
        .await
        .expect("phone number set");
    idp.admin_set_user_mfa_preference()
        .user_pool_id(&pool_id)
        .username("jane")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .expect("SMS MFA on");
    let old_sub = sub_of(&idp, &pool_id).await;
    let held = auth_rows(sandbox, &pool_id, Some(&old_sub)).await;
    for table in [
        "refresh_tokens",
        "devices",
        "software_tokens",
        "otp_factors",
        "lockouts",
    ] {
        assert!(
            held.iter().any(|(name, rows)| *name == table && *rows > 0),
            "{table} holds the user before the delete: {held:?}"
        );
    }

    idp.admin_delete_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("deleted");
    let left = auth_rows(sandbox, &pool_id, Some(&old_sub)).await;
    assert!(left.iter().all(|(_, rows)| *rows == 0), "{left:?}");

    cognate_tests::confirmed_user(&idp, &pool_id, "jane", PASSWORD).await;
    assert_eq!(
        sign_in(&idp, &client_id, Some(&device.key)).await.err(),
        Some("ResourceNotFoundException".to_owned()),
        "the old jane's device is gone"
    );
    let again = sign_in(&idp, &client_id, None)
        .await
        .expect("signed in again");
    let fresh = again
        .authentication_result()
        .expect("no MFA challenge for the new jane");
    let fresh_access = fresh.access_token().expect("access token");
    let listed = idp
        .list_devices()
        .access_token(fresh_access)
        .send()
        .await
        .expect("listed");
    let keys: Vec<_> = listed
        .devices()
        .iter()
        .filter_map(DeviceType::device_key)
        .collect();
    assert!(!keys.contains(&device.key.as_str()), "{keys:?}");
    let admin_view = idp
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("user found");
    assert!(admin_view.user_mfa_setting_list().is_empty());
    assert_eq!(admin_view.preferred_mfa_setting(), None);
    let old_refresh = idp
        .initiate_auth()
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .client_id(&client_id)
        .auth_parameters(
            "REFRESH_TOKEN",
            tokens.refresh_token().expect("refresh token"),
        )
        .send()
        .await
        .expect_err("the old refresh token is refused");
    assert_eq!(error_code(&old_refresh), "NotAuthorizedException");

    // DeleteUser, with the user's own token, forgets them the same way.
    let new_sub = sub_of(&idp, &pool_id).await;
    assert_ne!(new_sub, old_sub);
    idp.delete_user()
        .access_token(fresh_access)
        .send()
        .await
        .expect("deleted herself");
    let left = auth_rows(sandbox, &pool_id, Some(&new_sub)).await;
    assert!(left.iter().all(|(_, rows)| *rows == 0), "{left:?}");
    cognate_tests::confirmed_user(&idp, &pool_id, "jane", PASSWORD).await;
    sign_in(&idp, &client_id, None)
        .await
        .expect("signed in as the third jane");

    // DeleteUserPool: the pool's keys and users go; another pool's JWKS stays as it was.
    let (other_pool, other_client) = pool(&idp, None).await;
    sign_in(&idp, &other_client, None)
        .await
        .expect("signed in to the other pool");
    let other_jwks = sandbox.jwks(&other_pool).await;
    idp.admin_user_global_sign_out()
        .user_pool_id(&pool_id)
        .username("jane")
        .send()
        .await
        .expect("signed out");
    let held = auth_rows(sandbox, &pool_id, None).await;
    for table in ["refresh_tokens", "user_sign_outs", "signing_keys"] {
        assert!(
            held.iter().any(|(name, rows)| *name == table && *rows > 0),
            "{table} holds the pool before the delete: {held:?}"
        );
    }
    idp.delete_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("pool deleted");
    let left = auth_rows(sandbox, &pool_id, None).await;
    assert!(left.iter().all(|(_, rows)| *rows == 0), "{left:?}");
    assert_eq!(sandbox.jwks(&other_pool).await, other_jwks);
    assert!(
        sandbox
            .stored_rows(ServiceKind::Auth, "refresh_tokens", &other_pool, None)
            .await
            > 0,
        "the other pool's jane keeps her refresh token"
    );
}

both_topologies!(forgotten_on_delete, deleted_users_and_pools_are_forgotten);
