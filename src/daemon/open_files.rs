//! The open-file limit (`RLIMIT_NOFILE`). Every fetch, store file and listener connection costs a
//! descriptor, and the soft limit many systems start processes with (1024, or 256 on some) is far
//! below what the kernel allows the process (the hard limit): `run` and `once` raise the soft
//! limit to the hard one at start, and the listener sizes its connection cap from the result so
//! that clients of `/healthz` can never take the descriptors the fetcher needs.
//!
//! Raising uses `prlimit64`, which the unit's `SystemCallFilter=` allows (`setrlimit` is in the
//! `@resources` set it denies); under the unit's `LimitNOFILE=` the two limits are already equal
//! and nothing is called.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use tracing::{info, warn};

/// The soft limit now, `None` when unlimited.
pub fn soft_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Raises the soft limit to the hard limit and logs the limit the process runs with. A failure
/// is logged and otherwise ignored: the daemon works within a low limit, only with less room.
pub fn raise() {
    let limits = getrlimit(Resource::Nofile);
    if limits.current != limits.maximum {
        let raised = Rlimit {
            current: limits.maximum,
            maximum: limits.maximum,
        };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            warn!(
                soft = %describe(limits.current),
                hard = %describe(limits.maximum),
                %error,
                "cannot raise the open-files limit (RLIMIT_NOFILE) to its hard limit; running with the soft limit"
            );
        }
    }
    let now = getrlimit(Resource::Nofile);
    info!(
        soft = %describe(now.current),
        hard = %describe(now.maximum),
        "open-files limit (RLIMIT_NOFILE)"
    );
}

fn describe(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".to_string(), |value| value.to_string())
}
