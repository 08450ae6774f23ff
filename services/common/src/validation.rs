//! Constraint checks from the service models, reported as AWS reports them:
//! `1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: ...`,
//! or `N validation errors detected: <e1>; <e2>` when several members fail.

use crate::ErrorCode;
use crate::error::{CognitoError, CognitoResult};

/// The constraint failures of one request, collected so all are reported at once.
#[derive(Debug, Default)]
pub struct Violations {
    messages: Vec<String>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let value = match value {
            Some(text) => format!("'{text}'"),
            None => "null".to_owned(),
        };
        self.messages.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member; returns the value, or "" after recording that it is missing.
    pub fn required<'value>(&mut self, path: &str, value: Option<&'value str>) -> &'value str {
        match value {
            Some(text) => text,
            None => {
                self.add(None, path, "Member must not be null");
                ""
            }
        }
    }

    /// Length in characters between `min` and `max`, both inclusive.
    pub fn length(&mut self, path: &str, value: &str, min: usize, max: usize) {
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
    pub fn pattern(&mut self, path: &str, value: &str, matches: bool, pattern: &str) {
        if !matches {
            self.add(
                Some(value),
                path,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    pub fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
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

    pub fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
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
    pub fn list_length(&mut self, path: &str, values: &[String], max: usize) {
        if values.len() > max {
            let text = format!("[{}]", values.join(", "));
            self.add(
                Some(&text),
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A map of at most `max` entries. AWS prints a map value as `{key=value, ...}`.
    pub fn map_size(
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

    /// `InvalidParameterException` (Cognito user pools' type) listing every failure, or `Ok`.
    pub fn finish(self) -> CognitoResult<()> {
        self.finish_as(ErrorCode::InvalidParameterException)
    }

    /// The failures as `code` (cognito-identity answers `ValidationException`).
    pub fn finish_as(self, code: ErrorCode) -> CognitoResult<()> {
        match self.messages.len() {
            0 => Ok(()),
            count => {
                let noun = if count == 1 { "error" } else { "errors" };
                Err(CognitoError::new(
                    code,
                    format!(
                        "{count} validation {noun} detected: {}",
                        self.messages.join("; ")
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_and_several_are_worded_as_aws_words_them() {
        let mut violations = Violations::new();
        violations.required("userPoolId", None);
        let error = violations.finish().expect_err("missing");
        assert_eq!(
            error.message,
            "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"
        );
        let mut violations = Violations::new();
        violations.length("providerName", "", 1, 32);
        violations.range("maxResults", 61, 1, 60);
        let error = violations
            .finish_as(ErrorCode::ValidationException)
            .expect_err("two");
        assert_eq!(error.code, ErrorCode::ValidationException);
        assert!(
            error
                .message
                .starts_with("2 validation errors detected: Value '' at 'providerName'"),
            "{}",
            error.message
        );
        assert!(Violations::new().finish().is_ok());
    }
}
