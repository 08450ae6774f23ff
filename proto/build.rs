//! Compiles every `.proto` under `cognate/` with protox (no system protoc) and keeps the
//! descriptor set for run-time reflection by the edge.

use std::path::{Path, PathBuf};

use prost::Message;

fn collect_protos(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "proto")
        {
            found.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut protos = Vec::new();
    collect_protos(Path::new("cognate"), &mut protos)?;
    protos.sort();
    let descriptors = protox::compile(&protos, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptors.bin"), descriptors.encode_to_vec())?;

    let mut prost_config = prost_build::Config::new();
    prost_config.enable_type_names();
    tonic_prost_build::configure()
        .generate_default_stubs(true)
        .compile_fds_with_config(descriptors, prost_config)?;
    println!("cargo:rerun-if-changed=cognate");
    Ok(())
}
