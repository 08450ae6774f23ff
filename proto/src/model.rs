//! The sidecar of each generated Cognito surface (`model.json`, written by `generate.py`): what
//! the edge needs at run time beyond the descriptors: targets, signing, required members and
//! enum values. (Its errors become the `ErrorCode` catalogue at build time.)

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ServiceModel {
    pub protocol: String,
    pub target_prefix: Option<String>,
    pub signing_name: String,
    pub proto_package: String,
    pub operations: HashMap<String, OperationModel>,
    pub shapes: HashMap<String, ShapeModel>,
    pub errors: HashMap<String, ErrorModel>,
}

#[derive(Debug, Deserialize)]
pub struct OperationModel {
    pub grpc_service: String,
    pub input: String,
    pub output: String,
    /// Public operations (SignUp, InitiateAuth, GetId...) carry no SigV4 signature.
    pub unsigned: bool,
    #[serde(default)]
    pub http: Option<HttpBinding>,
}

#[derive(Debug, Deserialize)]
pub struct HttpBinding {
    pub method: String,
    pub uri: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ShapeModel {
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub members: HashMap<String, MemberModel>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberModel {
    #[serde(default)]
    pub r#enum: Option<Vec<String>>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorModel {
    pub http_status: u16,
}

fn parse(json: &str) -> ServiceModel {
    serde_json::from_str(json).expect("the generated model.json parses")
}

/// `cognito-idp`: user pools.
pub static IDP: LazyLock<ServiceModel> =
    LazyLock::new(|| parse(include_str!("../cognate/idp/v1/model.json")));
/// `cognito-identity`: identity pools.
pub static IDENTITY: LazyLock<ServiceModel> =
    LazyLock::new(|| parse(include_str!("../cognate/identity/v1/model.json")));
/// `cognito-sync`: datasets.
pub static SYNC: LazyLock<ServiceModel> =
    LazyLock::new(|| parse(include_str!("../cognate/sync/v1/model.json")));

impl ServiceModel {
    /// Full gRPC method path of an operation, e.g. `/cognate.idp.v1.Directory/CreateUserPool`.
    pub fn grpc_path(&self, operation: &str) -> Option<String> {
        let model = self.operations.get(operation)?;
        Some(format!("/{}/{operation}", model.grpc_service))
    }

    pub fn message_name(&self, shape: &str) -> String {
        format!("{}.{shape}", self.proto_package)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_names_messages_in_the_descriptor_pool() {
        for model in [&*IDP, &*IDENTITY, &*SYNC] {
            for (name, operation) in &model.operations {
                for shape in [&operation.input, &operation.output] {
                    let full = model.message_name(shape);
                    assert!(
                        crate::DESCRIPTOR_POOL.get_message_by_name(&full).is_some(),
                        "{name}: {full} missing"
                    );
                }
                let service = crate::DESCRIPTOR_POOL
                    .get_service_by_name(&operation.grpc_service)
                    .expect("service exists");
                assert!(service.methods().any(|method| method.name() == name));
            }
        }
        assert_eq!(
            IDP.target_prefix.as_deref(),
            Some("AWSCognitoIdentityProviderService")
        );
        assert!(IDP.operations["InitiateAuth"].unsigned);
        assert!(!IDP.operations["AdminInitiateAuth"].unsigned);
    }
}
