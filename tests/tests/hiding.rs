//! `PreventUserExistenceErrors=ENABLED`, through the AWS SDK for Rust in both topologies:
//! unknown users get the answers known users get (sign-in, SRP, CUSTOM_AUTH, lockout, the
//! self-service calls, ConfirmSignUp and the `/confirmUser` link), and the response times of the
//! two cannot be told apart by a rank test on any of those paths.

use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType,
    PreventUserExistenceErrorTypes, VerifiedAttributeType,
};
use cognate_common::srp;
use cognate_tests::{Sandbox, attribute, both_topologies, error_code};

const PASSWORD: &str = "Correct-Horse-1";
/// Timed rounds per comparison.
const ROUNDS: usize = 40;

/// The Mann–Whitney U statistic of `a` against `b` as a z-score (normal approximation, ties
/// given their average rank): near 0 when neither sample tends to be larger.
fn rank_z(a: &[Duration], b: &[Duration]) -> f64 {
    let mut all: Vec<(Duration, bool)> = a
        .iter()
        .map(|d| (*d, true))
        .chain(b.iter().map(|d| (*d, false)))
        .collect();
    all.sort();
    let mut rank_sum_a = 0.0;
    let mut index = 0;
    while index < all.len() {
        let mut end = index;
        while end + 1 < all.len() && all[end + 1].0 == all[index].0 {
            end += 1;
        }
        let rank = (index + end) as f64 / 2.0 + 1.0;
        rank_sum_a += all[index..=end].iter().filter(|(_, in_a)| *in_a).count() as f64 * rank;
        index = end + 1;
    }
    let (n_a, n_b) = (a.len() as f64, b.len() as f64);
    let u = rank_sum_a - n_a * (n_a + 1.0) / 2.0;
    let mean = n_a * n_b / 2.0;
    let deviation = (n_a * n_b * (n_a + n_b + 1.0) / 12.0).sqrt();
    (u - mean) / deviation
}

#[test]
fn the_rank_test_tells_different_samples_apart() {
    let ms = |values: &[u64]| -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    };
    let same = rank_z(&ms(&[1, 3, 5, 7, 9, 11]), &ms(&[2, 4, 6, 8, 10, 12]));
    assert!(same.abs() < 1.0, "{same}");
    let slower = rank_z(&ms(&[10, 11, 12, 13, 14, 15]), &ms(&[1, 2, 3, 4, 5, 6]));
    assert!(slower > 2.5, "{slower}");
}

async fn hiding_client(idp: &Client, pool_id: &str) -> String {
    cognate_tests::create_client(
        idp.create_user_pool_client()
            .user_pool_id(pool_id)
            .client_name("hiding")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled),
    )
    .await
}

/// Warm-up rounds before the timed ones: the first calls of a path fill caches.
const WARM_UP: usize = 3;

/// Times `call(known, round)` for a known and an unknown user in every round, the two in a
/// random order, and fails if one side is systematically slower. `call` measures the part that
/// matters itself (a challenge answer, not the InitiateAuth before it). `round` runs over
/// `0..WARM_UP + ROUNDS`, for paths that need a fresh user per round (wrong passwords would
/// otherwise lock them). Returns the rank test's z.
async fn indistinguishable<F, Fut>(label: &str, call: F) -> f64
where
    F: Fn(bool, usize) -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    for round in 0..WARM_UP {
        call(true, round).await;
        call(false, round).await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in WARM_UP..WARM_UP + ROUNDS {
        let known_first = uuid::Uuid::new_v4().as_bytes()[0].is_multiple_of(2);
        for is_known in [known_first, !known_first] {
            let took = call(is_known, round).await;
            if is_known {
                known.push(took);
            } else {
                unknown.push(took);
            }
        }
    }
    let z = rank_z(&known, &unknown);
    known.sort();
    unknown.sort();
    eprintln!(
        "{label}: z = {z:.2}, medians {:?} (known) vs {:?} (unknown)",
        known[ROUNDS / 2],
        unknown[ROUNDS / 2]
    );
    assert!(
        z.abs() < 3.5,
        "{label}: known and unknown users answer at different speeds (z = {z:.2}; medians {:?} vs {:?})",
        known[ROUNDS / 2],
        unknown[ROUNDS / 2]
    );
    z
}

/// How long `request` took.
async fn timed(request: impl std::future::Future<Output = ()>) -> Duration {
    let started = Instant::now();
    request.await;
    started.elapsed()
}

/// The known or the unknown name of a path with one user per side.
fn side(known: bool) -> &'static str {
    if known { "known" } else { "nobody" }
}

async fn unknown_users_look_like_known_ones(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("hiding")
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .alias_attributes(AliasAttributeType::Email),
    )
    .await;
    let client_id = hiding_client(&idp, &pool_id).await;
    idp.sign_up()
        .client_id(&client_id)
        .username("known")
        .password(PASSWORD)
        .user_attributes(attribute("email", "known@example.com"))
        .send()
        .await
        .expect("signed up");
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("known")
        .confirmation_code(sandbox.latest_code(&pool_id, "known").await)
        .send()
        .await
        .expect("confirmed");
    idp.sign_up()
        .client_id(&client_id)
        .username("pending")
        .password(PASSWORD)
        .user_attributes(attribute("email", "pending@example.com"))
        .send()
        .await
        .expect("signed up, left unconfirmed");

    // Shapes: a simulated delivery, stable per name; code checks fail as for a wrong code.
    let forgot = |name: &'static str| {
        idp.forgot_password()
            .client_id(&client_id)
            .username(name)
            .send()
    };
    let simulated = forgot("nobody").await.expect("answers like a known user");
    let details = simulated.code_delivery_details().expect("details");
    assert_eq!(details.attribute_name(), Some("email"));
    assert_eq!(
        details.delivery_medium().map(|medium| medium.as_str()),
        Some("EMAIL")
    );
    let destination = details.destination().expect("destination").to_owned();
    assert!(
        destination.len() == "a***@b***.com".len() && destination.contains("***@"),
        "{destination}"
    );
    let again = forgot("nobody").await.expect("answers");
    assert_eq!(
        again
            .code_delivery_details()
            .and_then(|details| details.destination()),
        Some(destination.as_str())
    );
    let resent = idp
        .resend_confirmation_code()
        .client_id(&client_id)
        .username("nobody")
        .send()
        .await
        .expect("answers like a known user");
    assert!(resent.code_delivery_details().is_some());
    let unconfirmable = idp
        .confirm_sign_up()
        .client_id(&client_id)
        .username("nobody")
        .confirmation_code("000000")
        .send()
        .await
        .expect_err("no such user");
    assert_eq!(error_code(&unconfirmable), "CodeMismatchException");

    // A real user's code still arrives: delivery happens after the answer.
    forgot("known").await.expect("sent");
    let code = sandbox.awaited_code(&pool_id, "known", 2).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for name in ["nobody", "known"] {
        let refused = idp
            .confirm_forgot_password()
            .client_id(&client_id)
            .username(name)
            .confirmation_code(wrong)
            .password(PASSWORD)
            .send()
            .await
            .expect_err("wrong code");
        assert_eq!(error_code(&refused), "CodeMismatchException", "{name}");
    }
    idp.confirm_forgot_password()
        .client_id(&client_id)
        .username("known")
        .confirmation_code(&code)
        .password("Another-Horse-2")
        .send()
        .await
        .expect("reset");

    // Timing.
    indistinguishable("ForgotPassword", |known, _| {
        let request = forgot(side(known));
        timed(async move {
            request.await.expect("answers");
        })
    })
    .await;
    indistinguishable("ResendConfirmationCode", |known, _| {
        // "pending" is unconfirmed: the known user ResendConfirmationCode sends to.
        let request = idp
            .resend_confirmation_code()
            .client_id(&client_id)
            .username(if known { "pending" } else { "nobody" })
            .send();
        timed(async move {
            request.await.expect("answers");
        })
    })
    .await;
    indistinguishable("ConfirmForgotPassword", |known, _| {
        let request = idp
            .confirm_forgot_password()
            .client_id(&client_id)
            .username(side(known))
            .confirmation_code("000000")
            .password(PASSWORD)
            .send();
        timed(async move {
            request.await.expect_err("wrong code");
        })
    })
    .await;
}

both_topologies!(
    unknown_users_look_like_known_ones_tests,
    unknown_users_look_like_known_ones,
    start_dev
);

/// An SDK error as `Code: message`.
fn message<E, R>(error: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> String
where
    E: aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata,
{
    use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
    format!(
        "{}: {}",
        error.code().unwrap_or("<no code>"),
        error.message().unwrap_or_default()
    )
}

/// A garbage PASSWORD_CLAIM_SIGNATURE: the server checks it with all the work of a real one.
const WRONG_SIGNATURE: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// Every other path where a name is checked: password sign-in, SRP's challenge and its answer,
/// CUSTOM_AUTH without triggers, the lockout, ConfirmSignUp for a confirmed user and the
/// `/confirmUser` link. Known and unknown names get the same answers, and the same times.
async fn no_sign_in_path_tells_who_exists(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("hiding-sign-in")
            .auto_verified_attributes(VerifiedAttributeType::Email),
    )
    .await;
    let client_id = hiding_client(&idp, &pool_id).await;
    let sign_up = |name: &'static str| {
        idp.sign_up()
            .client_id(&client_id)
            .username(name)
            .password(PASSWORD)
            .user_attributes(attribute("email", &format!("{name}@example.com")))
            .send()
    };
    sign_up("known").await.expect("signed up");
    idp.confirm_sign_up()
        .client_id(&client_id)
        .username("known")
        .confirmation_code(sandbox.latest_code(&pool_id, "known").await)
        .send()
        .await
        .expect("confirmed");
    sign_up("pending")
        .await
        .expect("signed up, left unconfirmed");
    // One fresh user per timed round of the paths that fail a password, so none is locked.
    for round in 0..WARM_UP + ROUNDS {
        cognate_tests::confirmed_user(&idp, &pool_id, &format!("user-{round}"), PASSWORD).await;
    }
    let password_sign_in = |name: String, password: &'static str| {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", name)
            .auth_parameters("PASSWORD", password)
            .send()
    };
    let srp_a = srp::client::Client::new("x", "y", "z").big_a();
    let srp_challenge = |name: String| {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::UserSrpAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", name)
            .auth_parameters("SRP_A", &srp_a)
            .send()
    };
    let custom_auth = |name: &'static str| {
        idp.initiate_auth()
            .auth_flow(AuthFlowType::CustomAuth)
            .client_id(&client_id)
            .auth_parameters("USERNAME", name)
            .send()
    };
    let confirm_sign_up = |name: &'static str| {
        idp.confirm_sign_up()
            .client_id(&client_id)
            .username(name)
            .confirmation_code("000000")
            .send()
    };
    let http = reqwest::Client::new();
    let confirm_link = |name: &'static str| {
        http.get(format!(
            "{}/confirmUser?client_id={client_id}&user_name={name}&confirmation_code=000000",
            sandbox.endpoint
        ))
        .send()
    };

    // CUSTOM_AUTH on a pool without its triggers: refused before any name is looked up.
    for name in ["known", "nobody"] {
        let refused = message(custom_auth(name).await.expect_err("no triggers"));
        assert_eq!(
            refused,
            "InvalidParameterException: Custom auth lambda trigger is not configured for the user pool.",
            "{name}"
        );
    }

    // Unknown names are counted and locked exactly as known ones.
    for name in ["locked", "nobody-locked"] {
        if name == "locked" {
            cognate_tests::confirmed_user(&idp, &pool_id, name, PASSWORD).await;
        }
        for _ in 0..5 {
            let refused = password_sign_in(name.to_owned(), "Wrong-Horse-1")
                .await
                .expect_err("wrong password");
            assert_eq!(
                message(refused),
                "NotAuthorizedException: Incorrect username or password.",
                "{name}"
            );
        }
        let locked = password_sign_in(name.to_owned(), PASSWORD)
            .await
            .expect_err("locked");
        assert_eq!(
            message(locked),
            "NotAuthorizedException: Password attempts exceeded",
            "{name}"
        );
    }

    // The link, for a confirmed user, an unconfirmed one with a wrong code and an unknown one:
    // one page, as for a wrong code.
    let mut pages = Vec::new();
    for name in ["known", "pending", "nobody"] {
        let page = confirm_link(name).await.expect("answers");
        pages.push((page.status().as_u16(), page.text().await.expect("page")));
    }
    assert_eq!(pages[0].0, 400);
    assert!(
        pages[0]
            .1
            .contains("Invalid verification code provided, please try again."),
        "{}",
        pages[0].1
    );
    assert_eq!(pages[1], pages[0]);
    assert_eq!(pages[2], pages[0]);

    // ConfirmSignUp: the same three get a wrong code's answers, down to the lock after five
    // wrong codes (the link's attempt above was the first).
    for name in ["known", "pending", "nobody"] {
        for attempt in 2..=6 {
            let refused = message(confirm_sign_up(name).await.expect_err("wrong code"));
            let expected = if attempt <= 5 {
                "CodeMismatchException: Invalid verification code provided, please try again."
            } else {
                "LimitExceededException: Attempt limit exceeded, please try after some time."
            };
            assert_eq!(refused, expected, "{name}, attempt {attempt}");
        }
    }

    // Timing.
    let mut z = Vec::new();
    z.push(
        indistinguishable("USER_PASSWORD_AUTH", |known, round| {
            let name = if known { "user" } else { "ghost" };
            let request = password_sign_in(format!("{name}-{round}"), "Wrong-Horse-1");
            timed(async move {
                request.await.expect_err("wrong password");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("USER_SRP_AUTH", |known, _| {
            let request = srp_challenge(side(known).to_owned());
            timed(async move {
                request.await.expect("a challenge");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("PASSWORD_VERIFIER", |known, round| {
            let name = if known { "user" } else { "ghost" };
            let challenge = srp_challenge(format!("{name}-{round}"));
            let idp = idp.clone();
            let client_id = client_id.clone();
            async move {
                let challenge = challenge.await.expect("a challenge");
                assert_eq!(
                    challenge.challenge_name(),
                    Some(&ChallengeNameType::PasswordVerifier)
                );
                let parameters = challenge.challenge_parameters().expect("parameters");
                let timestamp = srp::timestamp(time::OffsetDateTime::now_utc());
                let answer = idp
                    .respond_to_auth_challenge()
                    .client_id(client_id)
                    .challenge_name(ChallengeNameType::PasswordVerifier)
                    .challenge_responses("USERNAME", &parameters["USER_ID_FOR_SRP"])
                    .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", &parameters["SECRET_BLOCK"])
                    .challenge_responses("TIMESTAMP", timestamp)
                    .challenge_responses("PASSWORD_CLAIM_SIGNATURE", WRONG_SIGNATURE)
                    .send();
                timed(async move {
                    let refused = answer.await.expect_err("a wrong proof");
                    assert_eq!(error_code(&refused), "NotAuthorizedException");
                })
                .await
            }
        })
        .await,
    );
    z.push(
        indistinguishable("CUSTOM_AUTH without triggers", |known, _| {
            let request = custom_auth(side(known));
            timed(async move {
                request.await.expect_err("no triggers");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("locked out", |known, _| {
            let name = if known { "locked" } else { "nobody-locked" };
            let request = password_sign_in(name.to_owned(), "Wrong-Horse-1");
            timed(async move {
                request.await.expect_err("locked or wrong");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("ConfirmSignUp, confirmed user", |known, _| {
            let request = confirm_sign_up(side(known));
            timed(async move {
                request.await.expect_err("a wrong code");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("ConfirmSignUp, unconfirmed user", |known, _| {
            let request = confirm_sign_up(if known { "pending" } else { "nobody" });
            timed(async move {
                request.await.expect_err("a wrong code");
            })
        })
        .await,
    );
    z.push(
        indistinguishable("GET /confirmUser", |known, _| {
            let request = confirm_link(side(known));
            timed(async move {
                assert_eq!(request.await.expect("a page").status().as_u16(), 400);
            })
        })
        .await,
    );
    eprintln!("{:?}: rank-test z values {z:.2?}", sandbox.topology);
}

both_topologies!(
    no_sign_in_path_tells_who_exists_tests,
    no_sign_in_path_tells_who_exists,
    start_dev
);

/// The self-service answers that once told who exists: ResendConfirmationCode for a confirmed
/// user (a simulated delivery, as for an unknown name), and ConfirmForgotPassword for a user who
/// asked for no code or with a password the policy refuses (the same answer for every name).
async fn self_service_answers_tell_nothing(sandbox: &Sandbox) {
    let idp = sandbox.idp();
    let pool_id = cognate_tests::create_pool(
        idp.create_user_pool()
            .pool_name("hiding-self-service")
            .auto_verified_attributes(VerifiedAttributeType::Email),
    )
    .await;
    let client_id = hiding_client(&idp, &pool_id).await;
    idp.admin_create_user()
        .user_pool_id(&pool_id)
        .username("confirmed")
        .user_attributes(attribute("email", "confirmed@example.com"))
        .send()
        .await
        .expect("user");
    idp.admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("confirmed")
        .password(PASSWORD)
        .permanent(true)
        .send()
        .await
        .expect("confirmed");
    for name in ["confirmed", "nobody"] {
        let resent = idp
            .resend_confirmation_code()
            .client_id(&client_id)
            .username(name)
            .send()
            .await
            .expect("a simulated delivery");
        let details = resent.code_delivery_details().expect("details");
        assert_eq!(
            details.delivery_medium().map(|medium| medium.as_str()),
            Some("EMAIL"),
            "{name}"
        );
        let confirm = |password: &'static str| {
            idp.confirm_forgot_password()
                .client_id(&client_id)
                .username(name)
                .confirmation_code("123456")
                .password(password)
                .send()
        };
        let weak = confirm("short").await.expect_err("weak");
        assert_eq!(error_code(&weak), "InvalidPasswordException", "{name}");
        let never_asked = confirm(PASSWORD).await.expect_err("no code");
        assert_eq!(error_code(&never_asked), "CodeMismatchException", "{name}");
    }
}

both_topologies!(
    self_service_answers_tell_nothing_tests,
    self_service_answers_tell_nothing,
    start_dev
);
