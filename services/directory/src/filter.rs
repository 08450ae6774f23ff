//! ListUsers' `Filter`: Cognito's grammar `attribute = "value"` (exact) or `attribute ^= "value"`
//! (prefix) on the searchable attributes, and, beyond Cognito, on the pool's custom attributes
//! (`custom:tenant ^= "acme"`). Quotation marks inside the value are escaped with a
//! backslash, as Cognito documents (`family_name = \"Reddy\"` arrives as `family_name = "Reddy"`).

use cognate_common::{CognitoError, CognitoResult};

use crate::users::User;

/// Attributes kept in the user's attribute list that Cognito lets ListUsers search.
pub(crate) const SEARCHABLE_ATTRIBUTES: &[&str] = &[
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The username (case-sensitive).
    Username,
    /// `cognito:user_status`: compared case-insensitively.
    UserStatus,
    /// `status`: `Enabled` or `Disabled` (case-sensitive).
    Enabled,
    Sub,
    /// One of [`SEARCHABLE_ATTRIBUTES`], or a `custom:` attribute of the pool's schema.
    Attribute(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: Field,
    /// `^=` rather than `=`.
    pub prefix: bool,
    pub value: String,
}

fn parse_error() -> CognitoError {
    CognitoError::invalid_parameter("Error while parsing filter.")
}

impl Filter {
    /// Parses a filter; `None` for an empty one (which lists everyone).
    pub fn parse(text: &str) -> CognitoResult<Option<Self>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let name_end = text
            .find(|c: char| c.is_whitespace() || c == '=' || c == '^')
            .ok_or_else(parse_error)?;
        let (name, rest) = text.split_at(name_end);
        let rest = rest.trim_start();
        let (prefix, rest) = if let Some(rest) = rest.strip_prefix("^=") {
            (true, rest)
        } else if let Some(rest) = rest.strip_prefix('=') {
            (false, rest)
        } else {
            return Err(parse_error());
        };
        let quoted = rest.trim().strip_prefix('"').ok_or_else(parse_error)?;
        let mut value = String::new();
        let mut characters = quoted.chars();
        let mut closed = false;
        while let Some(c) = characters.next() {
            match c {
                '\\' => value.push(characters.next().ok_or_else(parse_error)?),
                '"' => {
                    closed = true;
                    break;
                }
                other => value.push(other),
            }
        }
        if !closed || !characters.as_str().trim().is_empty() {
            return Err(parse_error());
        }
        let field = match name {
            "username" => Field::Username,
            "cognito:user_status" => Field::UserStatus,
            "status" => Field::Enabled,
            "sub" => Field::Sub,
            other if SEARCHABLE_ATTRIBUTES.contains(&other) || other.starts_with("custom:") => {
                Field::Attribute(other.to_owned())
            }
            other => {
                return Err(CognitoError::invalid_parameter(format!(
                    "Invalid search attribute: {other}"
                )));
            }
        };
        Ok(Some(Self {
            field,
            prefix,
            value,
        }))
    }

    /// Refuses a custom attribute the pool's schema does not have, as Cognito refuses any
    /// attribute it cannot search.
    pub fn check_schema(&self, schema: &[serde_json::Value]) -> CognitoResult<()> {
        match &self.field {
            Field::Attribute(name) if name.starts_with("custom:") => {
                let defined = schema
                    .iter()
                    .any(|entry| entry["Name"].as_str() == Some(name.as_str()));
                if defined {
                    Ok(())
                } else {
                    Err(CognitoError::invalid_parameter(format!(
                        "Invalid search attribute: {name}"
                    )))
                }
            }
            _ => Ok(()),
        }
    }

    /// A condition on the `users` table's own columns (parameter `$4`) and its value, for the
    /// fields that have a column: the store narrows the rows, and [`Filter::matches`] still
    /// decides. Attributes are searched through the attribute index instead.
    pub fn sql(&self) -> Option<(&'static str, String)> {
        let column = match self.field {
            Field::Username => "username",
            Field::Sub => "sub",
            Field::UserStatus => "status",
            Field::Enabled => return self.enabled_sql(),
            Field::Attribute(_) => return None,
        };
        let value = if self.field == Field::UserStatus {
            self.value.to_uppercase()
        } else {
            self.value.clone()
        };
        let condition = match (column, self.prefix) {
            ("username", false) => "username = $4",
            ("username", true) => "substr(username, 1, length($4)) = $4",
            ("sub", false) => "sub = $4",
            ("sub", true) => "substr(sub, 1, length($4)) = $4",
            (_, false) => "status = $4",
            (_, true) => "substr(status, 1, length($4)) = $4",
        };
        Some((condition, value))
    }

    /// `status`: the `enabled` values whose names (`Enabled`, `Disabled`) match, through the
    /// `users_by_enabled` index; none when both match.
    fn enabled_sql(&self) -> Option<(&'static str, String)> {
        let enabled = self.matches_text("Enabled");
        let disabled = self.matches_text("Disabled");
        let value = match (enabled, disabled) {
            (true, true) => return None,
            (true, false) => "1",
            (false, true) => "0",
            (false, false) => "-1",
        };
        Some(("enabled = CAST($4 AS BIGINT)", value.to_owned()))
    }

    fn matches_text(&self, candidate: &str) -> bool {
        if self.prefix {
            candidate.starts_with(&self.value)
        } else {
            candidate == self.value
        }
    }

    /// Whether a user passes the filter.
    pub fn matches(&self, user: &User) -> bool {
        match &self.field {
            Field::Username => self.matches_text(&user.username),
            Field::Sub => self.matches_text(&user.sub),
            Field::UserStatus => {
                let wanted = self.value.to_uppercase();
                if self.prefix {
                    user.status.starts_with(&wanted)
                } else {
                    user.status == wanted
                }
            }
            Field::Enabled => self.matches_text(if user.enabled { "Enabled" } else { "Disabled" }),
            Field::Attribute(name) => user
                .attribute(name)
                .is_some_and(|value| self.matches_text(value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_common::ErrorCode;

    #[test]
    fn cognitos_filter_grammar_parses() {
        let filter = Filter::parse(r#"email ^= "jane@""#)
            .expect("valid")
            .expect("a filter");
        assert_eq!(filter.field, Field::Attribute("email".into()));
        assert!(filter.prefix);
        assert_eq!(filter.value, "jane@");
        let tight = Filter::parse(r#"family_name="O\"Brien""#)
            .expect("valid")
            .expect("a filter");
        assert_eq!(tight.value, "O\"Brien");
        assert!(!tight.prefix);
        assert_eq!(
            Filter::parse(r#"cognito:user_status = "confirmed""#)
                .expect("valid")
                .map(|filter| filter.field),
            Some(Field::UserStatus)
        );
        assert_eq!(Filter::parse("  ").expect("empty is fine"), None);
        let custom = Filter::parse(r#"custom:tenant = "acme""#)
            .expect("valid")
            .expect("a filter");
        assert!(custom.check_schema(&[]).is_err(), "not in the schema");
        assert!(
            custom
                .check_schema(&[serde_json::json!({"Name": "custom:tenant"})])
                .is_ok()
        );
        for bad in [
            "email",
            r#"email == "x""#,
            "email = x",
            r#"email = "x"#,
            r#"email = "x" extra"#,
            r#"locale = "x""#,
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    /// Property tests (`fuzz_*`; README, "Fuzzing").
    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        fn field() -> impl Strategy<Value = Field> {
            prop_oneof![
                Just(Field::Username),
                Just(Field::UserStatus),
                Just(Field::Enabled),
                Just(Field::Sub),
                prop::sample::select(SEARCHABLE_ATTRIBUTES)
                    .prop_map(|name| Field::Attribute(name.to_owned())),
                "custom:[a-zA-Z0-9_:-]{0,12}".prop_map(Field::Attribute),
            ]
        }

        fn name_of(field: &Field) -> &str {
            match field {
                Field::Username => "username",
                Field::UserStatus => "cognito:user_status",
                Field::Enabled => "status",
                Field::Sub => "sub",
                Field::Attribute(name) => name,
            }
        }

        /// A filter as a client writes it, with any spacing allowed around its parts.
        fn text_of(filter: &Filter, spaces: &[&str; 4]) -> String {
            let escaped: String = filter
                .value
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    other => vec![other],
                })
                .collect();
            let operator = if filter.prefix { "^=" } else { "=" };
            format!(
                "{}{}{}{operator}{}\"{escaped}\"{}",
                spaces[0],
                name_of(&filter.field),
                spaces[1],
                spaces[2],
                spaces[3]
            )
        }

        fn spaces() -> impl Strategy<Value = [&'static str; 4]> {
            let space = || prop::sample::select(vec!["", " ", "  ", "\t", "\n "]);
            (space(), space(), space(), space()).prop_map(|(a, b, c, d)| [a, b, c, d])
        }

        fn user(username: String, value: String, enabled: bool) -> User {
            User {
                username: username.clone(),
                sub: username.clone(),
                status: username.to_uppercase(),
                enabled,
                attributes: SEARCHABLE_ATTRIBUTES
                    .iter()
                    .map(|name| serde_json::json!({"Name": name, "Value": value}))
                    .chain([serde_json::json!({"Name": "custom:tenant", "Value": value})])
                    .collect(),
                password_hash: String::new(),
                created_at: 0,
                updated_at: 0,
            }
        }

        /// Filter-like text: pieces of the grammar in any order and number.
        fn filter_like() -> impl Strategy<Value = String> {
            let piece = prop::sample::select(vec![
                "email",
                "username",
                "status",
                "sub",
                "custom:",
                "cognito:user_status",
                "=",
                "^=",
                "^",
                "==",
                "\"",
                "\\",
                "\\\"",
                " ",
                "\t",
                "x",
                "é",
                "\u{1F600}",
                "\u{0}",
            ]);
            prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #![proptest_config(cognate_common::fuzzing::config())]

            /// Any text is a filter, no filter, or InvalidParameterException; and what parses
            /// can be asked of the store and of a user.
            #[test]
            fn fuzz_any_filter_text_parses_or_is_refused(
                text in prop_oneof![".{0,60}", filter_like()],
                username in ".{0,8}",
                enabled in any::<bool>(),
            ) {
                match Filter::parse(&text) {
                    Ok(None) => prop_assert!(text.trim().is_empty()),
                    Ok(Some(filter)) => {
                        // Attributes are searched through the index, the other fields in SQL.
                        match (&filter.field, filter.sql()) {
                            (Field::Attribute(_), sql) => prop_assert_eq!(sql, None),
                            (Field::Enabled, _) => {}
                            (_, sql) => prop_assert!(sql.is_some(), "{:?}", filter),
                        }
                        filter.matches(&user(username.clone(), username, enabled));
                    }
                    Err(error) => prop_assert_eq!(error.code, ErrorCode::InvalidParameterException),
                }
            }

            /// Every filter reads back from its text, however spaced.
            #[test]
            fn fuzz_filters_round_trip_through_their_text(
                field in field(),
                prefix in any::<bool>(),
                value in ".{0,20}",
                spaces in spaces(),
            ) {
                let filter = Filter { field, prefix, value };
                let text = text_of(&filter, &spaces);
                prop_assert_eq!(Filter::parse(&text), Ok(Some(filter)), "{}", text);
            }

            /// A user whose value is the filter's (or, for `^=`, starts with it) matches, and
            /// the `status` condition given to the store agrees with `matches`.
            #[test]
            fn fuzz_filters_match_their_own_value(
                field in field(),
                prefix in any::<bool>(),
                value in ".{0,12}",
                suffix in ".{0,4}",
                enabled in any::<bool>(),
            ) {
                let candidate = if prefix { format!("{value}{suffix}") } else { value.clone() };
                let filter = Filter { field: field.clone(), prefix, value };
                let user = user(candidate.clone(), candidate, enabled);
                match &field {
                    Field::Enabled => {
                        let as_sql = filter.sql();
                        let matched = filter.matches(&user);
                        match as_sql.as_ref().map(|(_, value)| value.as_str()) {
                            None => prop_assert!(matched),
                            Some("1") => prop_assert_eq!(matched, enabled),
                            Some("0") => prop_assert_eq!(matched, !enabled),
                            Some(other) => {
                                prop_assert_eq!(other, "-1");
                                prop_assert!(!matched);
                            }
                        }
                    }
                    Field::Attribute(name)
                        if name.starts_with("custom:") && name != "custom:tenant" =>
                    {
                        prop_assert!(!filter.matches(&user));
                    }
                    _ => prop_assert!(filter.matches(&user), "{:?}", filter),
                }
            }
        }
    }
}
