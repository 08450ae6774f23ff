//! A pool's attribute schema: Cognito's 21 standard attributes, then the pool's custom ones.

use serde_json::{Map, Value as Json, json};

use cognate_common::{CognitoError, CognitoResult};

/// (name, data type, mutable, required, (min length, max length)); `None` lengths mean no
/// string constraints. Order and values as real DescribeUserPool answers them.
type StandardAttribute = (
    &'static str,
    &'static str,
    bool,
    bool,
    Option<(&'static str, &'static str)>,
);

const STANDARD: &[StandardAttribute] = &[
    ("sub", "String", false, true, Some(("1", "2048"))),
    ("name", "String", true, false, Some(("0", "2048"))),
    ("given_name", "String", true, false, Some(("0", "2048"))),
    ("family_name", "String", true, false, Some(("0", "2048"))),
    ("middle_name", "String", true, false, Some(("0", "2048"))),
    ("nickname", "String", true, false, Some(("0", "2048"))),
    (
        "preferred_username",
        "String",
        true,
        false,
        Some(("0", "2048")),
    ),
    ("profile", "String", true, false, Some(("0", "2048"))),
    ("picture", "String", true, false, Some(("0", "2048"))),
    ("website", "String", true, false, Some(("0", "2048"))),
    ("email", "String", true, false, Some(("0", "2048"))),
    ("email_verified", "Boolean", true, false, None),
    ("gender", "String", true, false, Some(("0", "2048"))),
    ("birthdate", "String", true, false, Some(("10", "10"))),
    ("zoneinfo", "String", true, false, Some(("0", "2048"))),
    ("locale", "String", true, false, Some(("0", "2048"))),
    ("phone_number", "String", true, false, Some(("0", "2048"))),
    ("phone_number_verified", "Boolean", true, false, None),
    ("address", "String", true, false, Some(("0", "2048"))),
    ("updated_at", "Number", true, false, None),
    ("identities", "String", true, false, None),
];

const DATA_TYPES: &[&str] = &["String", "Number", "DateTime", "Boolean"];
pub(crate) const MAX_CUSTOM_ATTRIBUTES: usize = 50;

pub fn is_standard(name: &str) -> bool {
    STANDARD.iter().any(|(standard, ..)| *standard == name)
}

fn standard_attribute(
    name: &str,
    data_type: &str,
    mutable: bool,
    required: bool,
) -> Map<String, Json> {
    let mut attribute = Map::new();
    attribute.insert("Name".into(), json!(name));
    attribute.insert("AttributeDataType".into(), json!(data_type));
    attribute.insert("DeveloperOnlyAttribute".into(), json!(false));
    attribute.insert("Mutable".into(), json!(mutable));
    attribute.insert("Required".into(), json!(required));
    attribute
}

/// The pool's `SchemaAttributes` from CreateUserPool's `Schema`: standard attributes (with any
/// Required/Mutable the request sets for them), then custom ones as `custom:<name>` (or
/// `dev:custom:<name>` for developer-only attributes).
pub fn build(requested: &[Json]) -> CognitoResult<Vec<Json>> {
    let mut attributes = Vec::with_capacity(STANDARD.len() + requested.len());
    for (name, data_type, mutable, required, lengths) in STANDARD {
        let mut attribute = standard_attribute(name, data_type, *mutable, *required);
        if let Some(overrides) = requested.iter().find(|entry| entry["Name"] == *name) {
            if *name == "sub" {
                return Err(CognitoError::invalid_parameter("sub cannot be modified."));
            }
            for key in ["Mutable", "Required"] {
                if let Some(flag) = overrides.get(key).and_then(Json::as_bool) {
                    attribute.insert(key.into(), json!(flag));
                }
            }
        }
        match (name, lengths) {
            (_, Some((min, max))) => {
                attribute.insert(
                    "StringAttributeConstraints".into(),
                    json!({"MinLength": min, "MaxLength": max}),
                );
            }
            (&"updated_at", None) => {
                attribute.insert(
                    "NumberAttributeConstraints".into(),
                    json!({"MinValue": "0"}),
                );
            }
            (&"identities", None) => {
                attribute.insert("StringAttributeConstraints".into(), json!({}));
            }
            _ => {}
        }
        attributes.push(Json::Object(attribute));
    }
    let custom: Vec<&Json> = requested
        .iter()
        .filter(|entry| !entry["Name"].as_str().is_some_and(is_standard))
        .collect();
    if custom.len() > MAX_CUSTOM_ATTRIBUTES {
        return Err(CognitoError::invalid_parameter(format!(
            "A user pool can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."
        )));
    }
    for entry in custom {
        attributes.push(Json::Object(custom_attribute(entry)?));
    }
    Ok(attributes)
}

pub(crate) fn custom_attribute(entry: &Json) -> CognitoResult<Map<String, Json>> {
    let name = entry["Name"].as_str().unwrap_or_default();
    if name.is_empty() || name.chars().count() > 20 || name.contains(':') {
        return Err(CognitoError::invalid_parameter(format!(
            "Custom attribute name '{name}' must be 1 to 20 characters without ':'."
        )));
    }
    let data_type = entry["AttributeDataType"].as_str().unwrap_or("String");
    if !DATA_TYPES.contains(&data_type) {
        return Err(CognitoError::invalid_parameter(format!(
            "Invalid AttributeDataType {data_type} for attribute {name}."
        )));
    }
    if entry["Required"].as_bool() == Some(true) {
        return Err(CognitoError::invalid_parameter(
            "Required custom attributes are not supported currently.",
        ));
    }
    let developer_only = entry["DeveloperOnlyAttribute"].as_bool().unwrap_or(false);
    let prefix = if developer_only {
        "dev:custom:"
    } else {
        "custom:"
    };
    let mut attribute = standard_attribute(
        &format!("{prefix}{name}"),
        data_type,
        entry["Mutable"].as_bool().unwrap_or(true),
        false,
    );
    attribute.insert("DeveloperOnlyAttribute".into(), json!(developer_only));
    for key in ["StringAttributeConstraints", "NumberAttributeConstraints"] {
        if let Some(constraints) = entry.get(key).filter(|value| value.is_object()) {
            attribute.insert(key.into(), constraints.clone());
        }
    }
    Ok(attribute)
}

/// The schema entry for an attribute name, if the pool has it.
pub fn find<'a>(schema: &'a [Json], name: &str) -> Option<&'a Json> {
    schema.iter().find(|attribute| attribute["Name"] == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_attributes_come_first_and_custom_ones_are_prefixed() {
        let schema = build(&[
            json!({"Name": "email", "AttributeDataType": "String", "Required": true}),
            json!({"Name": "tenant", "AttributeDataType": "String", "Mutable": false}),
        ])
        .expect("valid");
        assert_eq!(schema.len(), STANDARD.len() + 1);
        assert_eq!(schema[0]["Name"], "sub");
        assert_eq!(find(&schema, "email").expect("email")["Required"], true);
        let custom = find(&schema, "custom:tenant").expect("custom attribute");
        assert_eq!(custom["Mutable"], false);
        assert_eq!(
            find(&schema, "updated_at").expect("updated_at")["NumberAttributeConstraints"]["MinValue"],
            "0"
        );
    }

    #[test]
    fn bad_custom_attributes_are_refused() {
        assert!(build(&[json!({"Name": "a-name-longer-than-twenty"})]).is_err());
        assert!(build(&[json!({"Name": "x", "AttributeDataType": "Blob"})]).is_err());
        assert!(build(&[json!({"Name": "sub", "Mutable": true})]).is_err());
    }
}
