//! Generates the v3 gRPC code from proto/ for both builds (real tonic and madsim's
//! simulated gRPC). The .proto files are compiled to a descriptor set with protox
//! (pure Rust), so no protoc is needed. From the same descriptor set pbjson-build
//! writes serde impls for the messages (`<package>.serde.rs`): the JSON of etcd's
//! HTTP gateway (original proto field names, int64 as strings, enums by name).

use std::path::PathBuf;

/// The proto files, relative to proto/ (which is also the import root).
const PROTOS: &[&str] = &[
    "mvccpb/kv.proto",
    "authpb/auth.proto",
    "etcdserverpb/rpc.proto",
    "etcdserverpb/raft_internal.proto",
    "v3lockpb/v3lock.proto",
    "v3electionpb/v3election.proto",
    "grpc/health/v1/health.proto",
];

/// The proto packages that get serde (JSON) impls: those the gateway serves.
const JSON_PACKAGES: &[&str] = &[
    ".etcdserverpb",
    ".mvccpb",
    ".authpb",
    ".v3lockpb",
    ".v3electionpb",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let proto_root = PathBuf::from("proto");
    let protos: Vec<PathBuf> = PROTOS.iter().map(|p| proto_root.join(p)).collect();

    let mut compiler = protox::Compiler::new([&proto_root])?;
    compiler.include_source_info(true).include_imports(true);
    for proto in PROTOS {
        compiler.open_file(proto)?;
    }
    let descriptor_path = out_dir.join("etcd_v3_descriptor.bin");
    std::fs::write(&descriptor_path, compiler.encode_file_descriptor_set())?;

    tonic_build::configure()
        .build_client(true)
        .build_server(true)
        .file_descriptor_set_path(&descriptor_path)
        .skip_protoc_run()
        .compile_protos(&protos, &[proto_root])?;

    // grpc-gateway as etcd 3.4 configures it (jsonpb with OrigName) prints the
    // original field names; unknown request fields are skipped, as Go's decoder does.
    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .out_dir(&out_dir)
        .preserve_proto_field_names()
        .ignore_unknown_fields()
        .build(JSON_PACKAGES)?;
    Ok(())
}
