//! Constraint checks from the service model, reported as AWS reports them:
//! `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: ...`,
//! or `N validation errors detected: <e1>; <e2>` when several members fail.

use cognate_common::{CognitoError, CognitoResult};

/// The constraint failures of one request, collected so all are reported at once.
#[derive(Debug, Default)]
pub(crate) struct Violations {
    messages: Vec<String>,
}

impl Violations {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let value = match value {
            Some(text) => format!("'{text}'"),
            None => "null".to_owned(),
        };
        self.messages.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member; returns the value, or "" after recording that it is missing.
    pub(crate) fn required<'value>(
        &mut self,
        path: &str,
        value: Option<&'value str>,
    ) -> &'value str {
        match value {
            Some(text) => text,
            None => {
                self.add(None, path, "Member must not be null");
                ""
            }
        }
    }

    /// Length in characters between `min` and `max`, both inclusive.
    pub(crate) fn length(&mut self, path: &str, value: &str, min: usize, max: usize) {
        let length = value.chars().count();
        if length < min {
            self.add(
                Some(value),
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if length > max {
            self.add(
                Some(value),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A regular-expression constraint, checked by `matches` (the model's patterns are simple
    /// enough to check by hand, without a regex engine).
    pub(crate) fn pattern(&mut self, path: &str, value: &str, matches: bool, pattern: &str) {
        if !matches {
            self.add(
                Some(value),
                path,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub(crate) fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.add(
                Some(value),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    pub(crate) fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        let text = value.to_string();
        if value < min {
            self.add(
                Some(&text),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.add(
                Some(&text),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A list of at most `max` members. AWS prints a list value as `[a, b]`.
    pub(crate) fn list_length(&mut self, path: &str, values: &[String], max: usize) {
        if values.len() > max {
            let text = format!("[{}]", values.join(", "));
            self.add(
                Some(&text),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// `InvalidParameterException` listing every failure, or `Ok` when there is none.
    pub(crate) fn finish(self) -> CognitoResult<()> {
        match self.messages.len() {
            0 => Ok(()),
            1 => Err(CognitoError::invalid_parameter(format!(
                "1 validation error detected: {}",
                self.messages.join("; ")
            ))),
            count => Err(CognitoError::invalid_parameter(format!(
                "{count} validation errors detected: {}",
                self.messages.join("; ")
            ))),
        }
    }
}

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

    #[test]
    fn one_failure_and_several_are_worded_as_aws_words_them() {
        let mut violations = Violations::new();
        violations.required("userPoolId", None);
        let error = violations.finish().expect_err("missing member");
        assert_eq!(error.error_type, "InvalidParameterException");
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
