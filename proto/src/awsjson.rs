//! AWS JSON <-> protobuf, driven by the descriptors: every Cognito field carries its wire name as
//! `json_name`, optional scalars and messages are omitted when unset, timestamps are epoch
//! seconds (`double`), blobs are base64. Nothing here is written per operation.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use serde_json::{Map, Number, Value as Json};

use crate::DESCRIPTOR_POOL;

/// A JSON value that does not fit the field it was sent for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "1 validation error detected: Value at '{path}' failed to satisfy constraint: {constraint}"
)]
pub struct ConversionError {
    /// The member path as AWS names it in validation messages, e.g. `policies.passwordPolicy`.
    pub path: String,
    pub constraint: String,
}

impl ConversionError {
    fn new(path: &str, constraint: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            constraint: constraint.into(),
        }
    }
}

/// AWS spells member paths in validation messages with a lower-case first letter.
pub fn member_path(parent: &str, wire_name: &str) -> String {
    let mut chars = wire_name.chars();
    let lowered: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    if parent.is_empty() {
        lowered
    } else {
        format!("{parent}.{lowered}")
    }
}

/// Decodes an AWS JSON object into a message of `descriptor`. Unknown members are ignored, as
/// AWS does; `null` counts as absent.
pub fn json_to_message(
    json: &Json,
    descriptor: &MessageDescriptor,
    path: &str,
) -> Result<DynamicMessage, ConversionError> {
    let Json::Object(object) = json else {
        return Err(ConversionError::new(path, "Member must be a structure"));
    };
    let mut message = DynamicMessage::new(descriptor.clone());
    for (key, value) in object {
        if value.is_null() {
            continue;
        }
        let Some(field) = descriptor.get_field_by_json_name(key) else {
            continue;
        };
        let field_path = member_path(path, key);
        let converted = if field.is_map() {
            map_from_json(value, &field, &field_path)?
        } else if field.is_list() {
            let Json::Array(items) = value else {
                return Err(ConversionError::new(&field_path, "Member must be a list"));
            };
            let kind = field.kind();
            let mut list = Vec::with_capacity(items.len());
            for (index, item) in items.iter().enumerate() {
                list.push(value_from_json(
                    item,
                    &kind,
                    &format!("{field_path}.{}", index + 1),
                )?);
            }
            Value::List(list)
        } else {
            value_from_json(value, &field.kind(), &field_path)?
        };
        message.set_field(&field, converted);
    }
    Ok(message)
}

fn map_from_json(
    json: &Json,
    field: &FieldDescriptor,
    path: &str,
) -> Result<Value, ConversionError> {
    let Json::Object(object) = json else {
        return Err(ConversionError::new(path, "Member must be a map"));
    };
    let Kind::Message(entry) = field.kind() else {
        return Err(ConversionError::new(path, "Member must be a map"));
    };
    let value_kind = entry.map_entry_value_field().kind();
    let mut map = std::collections::HashMap::with_capacity(object.len());
    for (key, value) in object {
        if value.is_null() {
            continue;
        }
        map.insert(
            MapKey::String(key.clone()),
            value_from_json(value, &value_kind, &format!("{path}.{key}"))?,
        );
    }
    Ok(Value::Map(map))
}

fn value_from_json(json: &Json, kind: &Kind, path: &str) -> Result<Value, ConversionError> {
    let mismatch = |what: &str| ConversionError::new(path, format!("Member must be {what}"));
    match kind {
        Kind::String => json
            .as_str()
            .map(|text| Value::String(text.to_owned()))
            .ok_or_else(|| mismatch("a string")),
        Kind::Bool => json
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| mismatch("a boolean")),
        Kind::Int32 => json
            .as_i64()
            .and_then(|number| i32::try_from(number).ok())
            .map(Value::I32)
            .ok_or_else(|| mismatch("an integer")),
        Kind::Int64 => json
            .as_i64()
            .map(Value::I64)
            .ok_or_else(|| mismatch("an integer")),
        Kind::Double => json
            .as_f64()
            .map(Value::F64)
            .ok_or_else(|| mismatch("a number")),
        Kind::Bytes => json
            .as_str()
            .and_then(|text| BASE64.decode(text).ok())
            .map(|bytes| Value::Bytes(bytes.into()))
            .ok_or_else(|| mismatch("base64-encoded binary data")),
        Kind::Message(descriptor) => json_to_message(json, descriptor, path).map(Value::Message),
        _ => Err(mismatch("of a type Cognate does not model")),
    }
}

/// Encodes a message as AWS JSON. Unset optional members are omitted; empty lists and maps are
/// omitted too, except at the top level of a response, where Cognito sends `[]` (ListUsers with
/// no users answers `{"Users": []}`).
pub fn message_to_json(message: &DynamicMessage, top_level: bool) -> Json {
    let mut object = Map::new();
    for field in message.descriptor().fields() {
        let value = message.get_field(&field);
        let json = if field.is_map() {
            let Value::Map(map) = value.as_ref() else {
                continue;
            };
            if map.is_empty() && !top_level {
                continue;
            }
            let mut entries: Vec<(String, Json)> = map
                .iter()
                .map(|(key, value)| (map_key_string(key), value_to_json(value)))
                .collect();
            entries.sort_by(|left, right| left.0.cmp(&right.0));
            Json::Object(entries.into_iter().collect())
        } else if field.is_list() {
            let Value::List(items) = value.as_ref() else {
                continue;
            };
            if items.is_empty() && !top_level {
                continue;
            }
            Json::Array(items.iter().map(value_to_json).collect())
        } else if !message.has_field(&field) {
            continue;
        } else {
            value_to_json(&value)
        };
        object.insert(field.json_name().to_owned(), json);
    }
    Json::Object(object)
}

fn map_key_string(key: &MapKey) -> String {
    match key {
        MapKey::String(text) => text.clone(),
        MapKey::Bool(flag) => flag.to_string(),
        MapKey::I32(number) => number.to_string(),
        MapKey::I64(number) => number.to_string(),
        MapKey::U32(number) => number.to_string(),
        MapKey::U64(number) => number.to_string(),
    }
}

fn value_to_json(value: &Value) -> Json {
    match value {
        Value::Bool(flag) => Json::Bool(*flag),
        Value::I32(number) => Json::from(*number),
        Value::I64(number) => Json::from(*number),
        Value::U32(number) => Json::from(*number),
        Value::U64(number) => Json::from(*number),
        Value::F32(number) => float_to_json(f64::from(*number)),
        Value::F64(number) => float_to_json(*number),
        Value::String(text) => Json::String(text.clone()),
        Value::Bytes(bytes) => Json::String(BASE64.encode(bytes)),
        Value::EnumNumber(number) => Json::from(*number),
        Value::Message(message) => message_to_json(message, false),
        Value::List(items) => Json::Array(items.iter().map(value_to_json).collect()),
        Value::Map(_) => Json::Null,
    }
}

/// Whole seconds go out as integers (Cognito's `CreationDate` is `1.7E9`-style; both parse).
fn float_to_json(number: f64) -> Json {
    if number.fract() == 0.0 && number.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Json::from(number as i64);
    }
    Number::from_f64(number).map_or(Json::Null, Json::Number)
}

fn descriptor_of<M: prost::Name>() -> MessageDescriptor {
    DESCRIPTOR_POOL
        .get_message_by_name(&M::full_name())
        .expect("every generated message is in the descriptor pool")
}

/// A typed message as AWS JSON (nested members only: empty lists are omitted).
pub fn to_json<M: prost::Message + prost::Name>(message: &M) -> Json {
    let dynamic = DynamicMessage::decode(descriptor_of::<M>(), message.encode_to_vec().as_slice())
        .expect("a typed message re-decodes with its own descriptor");
    message_to_json(&dynamic, false)
}

/// AWS JSON as a typed message.
pub fn from_json<M: prost::Message + prost::Name + Default>(
    json: &Json,
) -> Result<M, ConversionError> {
    let dynamic = json_to_message(json, &descriptor_of::<M>(), "")?;
    Ok(dynamic
        .transcode_to::<M>()
        .expect("a dynamic message transcodes to the type it was built for"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::v1::{
        AttributeType, CreateUserPoolRequest, PasswordPolicyType, UserPoolPolicyType,
    };

    #[test]
    fn round_trips_nested_optional_and_repeated_members() {
        let request = CreateUserPoolRequest {
            pool_name: Some("Users".into()),
            policies: Some(UserPoolPolicyType {
                password_policy: Some(PasswordPolicyType {
                    minimum_length: Some(8),
                    require_symbols: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            auto_verified_attributes: vec!["email".into()],
            ..Default::default()
        };
        let json = to_json(&request);
        assert_eq!(
            json,
            serde_json::json!({
                "PoolName": "Users",
                "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireSymbols": false}},
                "AutoVerifiedAttributes": ["email"],
            })
        );
        assert_eq!(from_json::<CreateUserPoolRequest>(&json), Ok(request));
    }

    #[test]
    fn ill_typed_members_name_their_path() {
        let error = from_json::<CreateUserPoolRequest>(
            &serde_json::json!({"Policies": {"PasswordPolicy": {"MinimumLength": "eight"}}}),
        )
        .expect_err("ill-typed");
        assert_eq!(error.path, "policies.passwordPolicy.minimumLength");
        let error =
            from_json::<AttributeType>(&serde_json::json!([1])).expect_err("not a structure");
        assert_eq!(error.constraint, "Member must be a structure");
    }
}
