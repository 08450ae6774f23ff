//! Cognate's gRPC definitions: the Cognito operations generated from the botocore models (see
//! `generate.py`), the hand-written internal RPCs, and the AWS JSON <-> protobuf conversion
//! shared by the edge and the stores.

use std::sync::LazyLock;

use prost_reflect::DescriptorPool;

pub mod awsjson;
pub mod model;

include!(concat!(env!("OUT_DIR"), "/errors.rs"));

#[allow(clippy::all, clippy::pedantic)]
pub mod idp {
    pub mod v1 {
        tonic::include_proto!("cognate.idp.v1");
    }
}

#[allow(clippy::all, clippy::pedantic)]
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("cognate.identity.v1");
    }
}

#[allow(clippy::all, clippy::pedantic)]
pub mod sync {
    pub mod v1 {
        tonic::include_proto!("cognate.sync.v1");
    }
}

#[allow(clippy::all, clippy::pedantic)]
pub mod internal {
    pub mod v1 {
        tonic::include_proto!("cognate.internal.v1");
    }
}

const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

/// Every message and service of this crate, for reflection. Immutable data compiled in.
pub static DESCRIPTOR_POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(DESCRIPTORS).expect("the descriptor set compiled by build.rs decodes")
});
