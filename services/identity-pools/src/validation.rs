//! Constraint checks from the cognito-identity model, reported as AWS reports them:
//! `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: ...`,
//! or `N validation errors detected: <e1>; <e2>` when several members fail. Unlike user pools,
//! this service answers them as `ValidationException` (as emulators do; unconfirmed for AWS).

use cognate_common::ErrorCode;

pub(crate) use cognate_common::validation::Violations;

/// cognito-identity's error type for constraint failures.
pub(crate) const VALIDATION_ERROR: ErrorCode = ErrorCode::ValidationException;

/// `[\w-]+:[0-9a-f-]+`: identity pool and identity ids, e.g. `us-east-1:1a2b...`.
pub(crate) fn is_regional_id(value: &str) -> bool {
    let Some((region, id)) = value.split_once(':') else {
        return false;
    };
    !region.is_empty()
        && region.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        })
        && !id.is_empty()
        && id.chars().all(|character| {
            character.is_ascii_digit() || ('a'..='f').contains(&character) || character == '-'
        })
}

/// `[\w\s+=,.@-]+` with Java's ASCII `\w` and `\s`: IdentityPoolName.
pub(crate) fn is_pool_name(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|character| {
            character.is_ascii_alphanumeric()
                || matches!(
                    character,
                    '_' | ' '
                        | '\t'
                        | '\n'
                        | '\x0B'
                        | '\x0C'
                        | '\r'
                        | '+'
                        | '='
                        | ','
                        | '.'
                        | '@'
                        | '-'
                )
        })
}

/// `[\w._-]+`: DeveloperProviderName.
pub(crate) fn is_developer_provider_name(value: &str) -> bool {
    !value.is_empty()
        && value.chars().all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '-')
        })
}

/// `\d+`: AccountId.
pub(crate) fn is_account_id(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|character| character.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_validation_exceptions_worded_as_aws_words_them() {
        let mut violations = Violations::new();
        violations.pattern(
            "identityPoolId",
            "nope",
            is_regional_id("nope"),
            r"[\w-]+:[0-9a-f-]+",
        );
        let error = violations.finish_as(VALIDATION_ERROR).expect_err("bad id");
        assert_eq!(error.code, ErrorCode::ValidationException);
        assert_eq!(
            error.message,
            r"1 validation error detected: Value 'nope' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w-]+:[0-9a-f-]+"
        );
        let mut violations = Violations::new();
        violations.required("identityPoolName", None);
        violations.range("maxResults", 0, 1, 60);
        let error = violations
            .finish_as(VALIDATION_ERROR)
            .expect_err("two failures");
        assert!(
            error
                .message
                .starts_with("2 validation errors detected: Value null at 'identityPoolName'")
        );
        assert!(Violations::new().finish_as(VALIDATION_ERROR).is_ok());
    }

    #[test]
    fn patterns_follow_the_model() {
        assert!(is_regional_id(
            "us-east-1:0f5c2b9e-1d2a-4c3b-8e7f-123456789abc"
        ));
        assert!(!is_regional_id("us-east-1:0F5C"));
        assert!(!is_regional_id("us-east-1"));
        assert!(!is_regional_id(":abc"));
        assert!(!is_pool_name("My pool, v2 (no)"));
        assert!(is_pool_name("My pool, v2.0 @home=+-"));
        assert!(is_developer_provider_name("login.example.app"));
        assert!(!is_developer_provider_name("login example"));
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("12345678901a"));
    }
}
