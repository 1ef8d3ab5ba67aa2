//! Config text through loading and validation (TOML, `${VAR}`, every table): problems are
//! fine, a panic is a bug.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let environment = |name: &str| (name == "SECRET").then(|| "whsec_c2VjcmV0".to_string());
    let _ = wirewatch::config::Config::parse(
        text,
        Path::new("/nonexistent/wirewatch.toml"),
        Path::new("/nonexistent"),
        &environment,
    );
});
