//! Smoke test of the bench binary: every workload family, very briefly,
//! against the debug broker, writing into a scratch directory (not docs/).
//! Takes about 10 s; `make test` builds the broker first.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn quick_bench_runs_every_family_and_writes_report_and_plots() {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tributary-bench"));
    let broker = exe.parent().expect("target dir").join("tributary-broker");
    assert!(
        broker.exists(),
        "{} not built: run `cargo build -p tributary-broker` (make test does)",
        broker.display()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let md = tmp.path().join("bench.md");
    let plots = tmp.path().join("plots");
    let out = Command::new(&exe)
        .args([
            "--quick",
            "--produce-secs",
            "0.2",
            "--latency-secs",
            "0.5",
            "--rates",
            "1000",
            "--consume-mib",
            "4",
        ])
        .arg("--broker-bin")
        .arg(&broker)
        .arg("--out")
        .arg(&md)
        .arg("--plots")
        .arg(&plots)
        .env_remove("BENCH_BOOTSTRAP")
        .env_remove("BENCH_TANSU")
        .output()
        .expect("run tributary-bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tributary-bench failed:\n{stderr}");
    let doc = std::fs::read_to_string(&md).expect("markdown written");
    for needle in [
        "produce acks=1 no-key 1p",
        "produce acks=all keyed 4p",
        "consume (full topic)",
        "| 1,000 | tributary |",
        "Quick mode",
    ] {
        assert!(doc.contains(needle), "{needle:?} missing from:\n{doc}");
    }
    assert!(
        !doc.contains("Failed runs"),
        "a run failed:\n{doc}\n{stderr}"
    );
    for png in ["throughput.png", "latency-cdf.png"] {
        let bytes = std::fs::read(plots.join(png)).expect(png);
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{png} is not a plot"
        );
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(plots.join("results.json")).expect("results.json"),
    )
    .expect("json");
    assert_eq!(
        json["rows"].as_array().map(Vec::len),
        Some(10),
        "8 produce + consume + 1 latency rows"
    );
}
