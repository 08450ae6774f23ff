//! `PreventUserExistenceErrors=ENABLED` on the self-service calls, through the AWS SDK for Rust
//! in both topologies: unknown users get the shapes known users get, and the response times of
//! the two cannot be told apart by a rank test.

use std::time::{Duration, Instant};

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, PreventUserExistenceErrorTypes, VerifiedAttributeType,
};
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
            .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled),
    )
    .await
}

/// Times `call` for the known and the unknown name, alternating in a random order, and fails
/// if one side is systematically slower.
async fn indistinguishable<F, Fut>(label: &str, call: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..3 {
        call("known").await;
        call("nobody").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let known_first = uuid::Uuid::new_v4().as_bytes()[0].is_multiple_of(2);
        for is_known in [known_first, !known_first] {
            let started = Instant::now();
            call(if is_known { "known" } else { "nobody" }).await;
            let took = started.elapsed();
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
    assert!(
        z.abs() < 3.5,
        "{label}: known and unknown users answer at different speeds (z = {z:.2}; medians {:?} vs {:?})",
        known[ROUNDS / 2],
        unknown[ROUNDS / 2]
    );
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
    indistinguishable("ForgotPassword", |name| {
        let request = forgot(name);
        async move {
            request.await.expect("answers");
        }
    })
    .await;
    indistinguishable("ConfirmForgotPassword", |name| {
        let request = idp
            .confirm_forgot_password()
            .client_id(&client_id)
            .username(name)
            .confirmation_code("000000")
            .password(PASSWORD)
            .send();
        async move {
            request.await.expect_err("wrong code");
        }
    })
    .await;
}

both_topologies!(
    unknown_users_look_like_known_ones_tests,
    unknown_users_look_like_known_ones,
    start_dev
);
