//! The committed BPF objects are exactly what `bpf/build.sh` makes from the committed C
//! sources (STYLE habit 10): rebuild into a temporary directory and compare byte for byte.
//! Needs clang, llvm and libbpf-dev (.ci/apt/trace.txt); fails, never skips, without them.

use std::process::Command;

#[test]
fn committed_bpf_objects_match_their_sources() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bpf/check.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .expect("run bash bpf/check.sh");
    assert!(
        out.status.success(),
        "bpf/check.sh failed (rebuild with `bash crates/trace/bpf/build.sh` and commit; \
         clang, llvm and libbpf-dev are in .ci/apt/trace.txt):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
