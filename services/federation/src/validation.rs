//! Constraint checks from the service model, reported as AWS reports them:
//! `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: ...`,
//! or `N validation errors detected: <e1>; <e2>` when several members fail.

pub(crate) use cognate_common::validation::Violations;

/// `[\w-]+_[0-9a-zA-Z]+`: Cognito's user pool id, e.g. `us-east-1_AbC123xyz`.
pub(crate) fn is_user_pool_id(value: &str) -> bool {
    let Some((region, suffix)) = value.rsplit_once('_') else {
        return false;
    };
    !region.is_empty()
        && region.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        })
        && !suffix.is_empty()
        && suffix
            .chars()
            .all(|character| character.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_common::ErrorCode;

    #[test]
    fn one_failure_and_several_are_worded_as_aws_words_them() {
        let mut violations = Violations::new();
        violations.required("userPoolId", None);
        let error = violations.finish().expect_err("missing member");
        assert_eq!(error.code, ErrorCode::InvalidParameterException);
        assert_eq!(
            error.message,
            "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"
        );

        let mut violations = Violations::new();
        violations.length("providerName", &"x".repeat(33), 1, 32);
        violations.range("maxResults", 61, 0, 60);
        let error = violations.finish().expect_err("two failures");
        assert!(
            error
                .message
                .starts_with("2 validation errors detected: Value '")
        );
        assert!(error.message.contains("; Value '61' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 60"));
        assert!(Violations::new().finish().is_ok());
    }

    #[test]
    fn user_pool_ids_follow_the_model_pattern() {
        assert!(is_user_pool_id("us-east-1_AbC123xyz"));
        assert!(is_user_pool_id("local_pool_1"));
        assert!(!is_user_pool_id("us-east-1"));
        assert!(!is_user_pool_id("us-east-1_"));
        assert!(!is_user_pool_id("_abc"));
        assert!(!is_user_pool_id("us-east-1_ab-c"));
    }
}
