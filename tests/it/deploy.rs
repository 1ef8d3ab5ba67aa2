//! The systemd unit in deploy/ is accepted by `systemd-analyze verify` (with ExecStart pointing at
//! the binary under test) and keeps an exposure score of at most 1.5. Skipped, with a message,
//! where systemd-analyze is not installed.

use std::path::Path;
use std::process::Command;

fn systemd_analyze_present() -> bool {
    crate::common::tool_present(
        "systemd-analyze",
        "it checks the unit; Debian package systemd",
    )
}

fn unit_for_test(folder: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/wirewatch.service"),
    )
    .unwrap();
    let unit = unit.replace("/usr/bin/wirewatch", env!("CARGO_BIN_EXE_wirewatch"));
    let path = folder.join("wirewatch.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    if !systemd_analyze_present() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let unit = unit_for_test(folder.path());
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("wirewatch.service"))
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify complained:\n{stderr}"
    );
}

#[test]
fn unit_exposure_is_at_most_one_and_a_half() {
    if !systemd_analyze_present() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let unit = unit_for_test(folder.path());
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line in:\n{stdout}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score from {line:?}"));
    assert!(score <= 1.5, "exposure {score} > 1.5:\n{stdout}");
}
