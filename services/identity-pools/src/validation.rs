//! Constraint checks from the cognito-identity model, reported as AWS reports them:
//! `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: ...`,
//! or `N validation errors detected: <e1>; <e2>` when several members fail. Unlike user pools,
//! this service answers them as `ValidationException` (as emulators do; unconfirmed for AWS).

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

    /// A map of at most `max` entries. AWS prints a map value as `{key=value, ...}`.
    pub(crate) fn map_size(
        &mut self,
        path: &str,
        map: &std::collections::HashMap<String, String>,
        max: usize,
    ) {
        if map.len() > max {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            entries.sort();
            let text = format!("{{{}}}", entries.join(", "));
            self.add(
                Some(&text),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// `ValidationException` listing every failure, or `Ok` when there is none.
    pub(crate) fn finish(self) -> CognitoResult<()> {
        match self.messages.len() {
            0 => Ok(()),
            1 => Err(CognitoError::new(
                "ValidationException",
                format!("1 validation error detected: {}", self.messages.join("; ")),
            )),
            count => Err(CognitoError::new(
                "ValidationException",
                format!(
                    "{count} validation errors detected: {}",
                    self.messages.join("; ")
                ),
            )),
        }
    }
}

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
        let error = violations.finish().expect_err("bad id");
        assert_eq!(error.error_type, "ValidationException");
        assert_eq!(
            error.message,
            r"1 validation error detected: Value 'nope' at 'identityPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w-]+:[0-9a-f-]+"
        );
        let mut violations = Violations::new();
        violations.required("identityPoolName", None);
        violations.range("maxResults", 0, 1, 60);
        let error = violations.finish().expect_err("two failures");
        assert!(
            error
                .message
                .starts_with("2 validation errors detected: Value null at 'identityPoolName'")
        );
        assert!(Violations::new().finish().is_ok());
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
