//! Tests of config validation, table by table, through [`super::parse`].

use super::*;

/// The one way these tests load config text: `${SECRET}` and `${SMTP_PASSWORD}` are set.
fn load(text: &str) -> Result<Config, Vec<String>> {
    let environment = |name: &str| match name {
        "SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string()),
        "SMTP_PASSWORD" => Some("hunter2".to_string()),
        _ => None,
    };
    parse(text, Path::new("/etc/wirewatch"), &environment)
        .map_err(|problems| problems.iter().map(ToString::to_string).collect())
}

fn problems_of(text: &str) -> Vec<String> {
    load(text).err().unwrap_or_default()
}

/// One source, one watchlist, one sink: nothing else needed.
const MINIMAL: &str = r#"
            [sources.a]
            url = "https://example.org/feed"
            [watchlists.w]
            keywords = ["Putin"]
            [sinks.journal]
            kind = "log"
        "#;

#[test]
fn minimal_config_is_valid() {
    let text = MINIMAL;
    assert_eq!(problems_of(text), Vec::<String>::new());
    let config = parse(text, Path::new("/etc/wirewatch"), &|_| None).unwrap();
    assert_eq!(
        config.daemon.state_dir,
        PathBuf::from("/etc/wirewatch/state")
    );
    assert_eq!(config.sources[0].interval, Duration::from_secs(300));
    assert_eq!(config.watchlists[0].sinks, vec!["journal".to_string()]);
    assert_eq!(config.sinks[0].retry.len(), DEFAULT_RETRY.len());
}

#[test]
fn environment_substitution() {
    assert_eq!(expand("a ${X} b", &|_| Some("1".into())).unwrap(), "a 1 b");
    assert_eq!(expand("$${X}", &|_| None).unwrap(), "${X}");
    assert_eq!(expand("cost $5", &|_| None).unwrap(), "cost $5");
    assert!(expand("${MISSING}", &|_| None)
        .unwrap_err()
        .contains("environment variable MISSING is not set"));
    assert!(expand("${OPEN", &|_| None)
        .unwrap_err()
        .contains("unterminated"));
}

/// Issue 17: a source's zone for dates written without an offset is an IANA name, checked at
/// load with an error that says what to write.
#[test]
fn source_timezone_is_an_iana_name() {
    let config = |zone: &str| {
        format!(
            "[sources.paris]\nurl = \"https://example.org/feed\"\ntimezone = \"{zone}\"\n\
             [watchlists.w]\nkeywords = [\"x\"]\n[sinks.journal]\nkind = \"log\"\n"
        )
    };
    let loaded = load(&config("Europe/Paris")).unwrap();
    assert_eq!(loaded.sources[0].timezone, Some(chrono_tz::Europe::Paris));
    let unset = load(&config("UTC").replace("timezone = \"UTC\"\n", "")).unwrap();
    assert_eq!(unset.sources[0].timezone, None);
    for wrong in ["Europe/Pariss", "CET", "+01:00", ""] {
        let problems = problems_of(&config(wrong));
        assert_eq!(problems.len(), 1, "{wrong}: {problems:?}");
        assert!(
            problems[0].starts_with("sources.paris.timezone: ")
                && problems[0].contains("not an IANA time zone name")
                && problems[0].contains("\"Europe/Paris\""),
            "{problems:?}"
        );
    }
}

#[test]
fn every_error_is_reported_at_once() {
    let text = r#"
            [daemon]
            stat_dir = "x"
            [fetch]
            timeout = "soon"
            [sources.a]
            url = "ftp://example.org/feed"
            interval = "5 parsecs"
            [sources.b]
            url = "https://example.org/feed"
            kind = "carrier-pigeon"
            [watchlists.w]
            sinks = ["nowhere"]
            sources = ["c"]
            [sinks.hook]
            kind = "webhook"
            secret = "${NOT_SET}"
            retry = ["5s", "later"]
            [sinks.journal]
            kind = "log"
            url = "https://example.org"
        "#;
    let problems = problems_of(text);
    let expected_prefixes = [
        "sinks.hook.secret: environment variable NOT_SET is not set",
        "daemon.stat_dir: unknown field `stat_dir`",
        "fetch.timeout: invalid duration \"soon\"",
        "sources.a.url: \"ftp://example.org/feed\" is not an http(s) URL",
        "sources.a.interval: invalid duration \"5 parsecs\"",
        "sources.b.kind: unknown source kind \"carrier-pigeon\"",
        "sinks.hook.retry[1]: invalid duration \"later\"",
        "sinks.hook.url: missing",
        "sinks.journal.url: a log sink takes no such key",
        "watchlists.w: needs a query",
        "watchlists.w.sinks[0]: no sink named \"nowhere\"; defined sinks: hook, journal",
        "watchlists.w.sources[0]: no source named \"c\"; defined sources: a, b",
    ];
    for prefix in expected_prefixes {
        assert!(
            problems.iter().any(|problem| problem.starts_with(prefix)),
            "missing {prefix:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected_prefixes.len(), "{problems:#?}");
}

/// Regression (issue 16, defect 3): durations that overflow the daemon's clock arithmetic
/// passed `check` and panicked later. Every key now states its maximum.
#[test]
fn absurd_durations_are_refused_with_their_maximum() {
    let text = r#"
            [fetch]
            timeout = "2h"
            connect_timeout = "18446744073709551615s"
            per_host_gap = "18446744073709551615s"
            min_interval = "366d"
            max_interval = "213503982334601d"
            max_backoff = "400d"
            [sources.a]
            url = "https://example.org/feed"
            interval = "213503982334601d"
            max_age = "9999d"
            [watchlists.w]
            query = "x"
            sinks = ["hook"]
            [sinks.hook]
            kind = "webhook"
            url = "https://example.org/hook"
            retry = ["5s", "30d"]
            digest = "8d"
            timeout = "1d"
            rate_limit = "1/18446744073709551615s"
        "#;
    let problems = problems_of(text);
    for expected in [
            "fetch.timeout: \"2h\" is too long, the maximum is 1h",
            "fetch.connect_timeout: \"18446744073709551615s\" is too long, the maximum is 1h",
            "fetch.per_host_gap: \"18446744073709551615s\" is too long, the maximum is 1h",
            "fetch.min_interval: \"366d\" is too long, the maximum is 365d",
            "fetch.max_interval: \"213503982334601d\" is too long, the maximum is 365d",
            "fetch.max_backoff: \"400d\" is too long, the maximum is 365d",
            "sources.a.interval: \"213503982334601d\" is too long, the maximum is 365d",
            "sources.a.max_age: \"9999d\" is too long, the maximum is 365d",
            "sinks.hook.retry[1]: \"30d\" is too long, the maximum is 7d",
            "sinks.hook.digest: \"8d\" is too long, the maximum is 7d",
            "sinks.hook.timeout: \"1d\" is too long, the maximum is 1h",
            "sinks.hook.rate_limit: rate limit \"1/18446744073709551615s\" counts over too long a time, the maximum is 1d",
        ] {
            assert!(
                problems.iter().any(|problem| problem.starts_with(expected)),
                "missing {expected:?} in {problems:#?}"
            );
        }
    assert_eq!(problems.len(), 12, "{problems:#?}");
    // the maxima themselves are accepted
    let text = r#"
            [fetch]
            per_host_gap = "1h"
            max_backoff = "365d"
            [sources.a]
            url = "https://example.org/feed"
            interval = "365d"
        "#;
    assert_eq!(problems_of(text), Vec::<String>::new());
}

#[test]
fn schedule_politeness_and_health_keys() {
    let text = r#"
            [daemon]
            health_sinks = ["ops", "pager"]
            health_failures = 0
            [fetch]
            per_host_connections = 0
            per_host_gap = "0s"
            min_interval = "2h"
            max_interval = "1h"
            circuit_breaker_failures = 0
            [sources.a]
            url = "https://example.org/feed"
            interval = "10m"
            min_interval = "20m"
            max_interval = "5m"
            [sinks.ops]
            kind = "log"
        "#;
    let problems = problems_of(text);
    let expected_prefixes = [
        "daemon.health_sinks[1]: no sink named \"pager\"; defined sinks: ops",
        "daemon.health_failures: must be at least 1",
        "fetch.per_host_connections: must be at least 1",
        "fetch.circuit_breaker_failures: must be at least 1",
        "fetch.max_interval: is shorter than fetch.min_interval (2h)",
        "sources.a.min_interval: is longer than the interval (10m)",
        "sources.a.max_interval: is shorter than the interval (10m)",
    ];
    for prefix in expected_prefixes {
        assert!(
            problems.iter().any(|problem| problem.starts_with(prefix)),
            "missing {prefix:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected_prefixes.len(), "{problems:#?}");
    // defaults: the bounds widen to hold the source's own interval
    let config = parse(
            "[sources.fast]\nurl = \"https://example.org/a\"\ninterval = \"10s\"\n[sources.slow]\nurl = \"https://example.org/b\"\ninterval = \"1d\"\n",
            Path::new("."),
            &|_| None,
        )
        .unwrap();
    let bounds: Vec<(u64, u64)> = config
        .sources
        .iter()
        .map(|source| (source.min_interval.as_secs(), source.max_interval.as_secs()))
        .collect();
    assert_eq!(bounds, vec![(10, 3600), (60, 86_400)]);
    assert!(config.sources[0].adaptive && config.sources[0].respect_robots);
    assert_eq!(config.fetch.per_host_gap, Duration::from_secs(1));
    assert_eq!(config.daemon.health_failures, 5);
}

#[test]
fn websub_keys() {
    let problems = problems_of(
        r#"
            [daemon]
            listen = "off"
            public_url = "https://example.org/wirewatch"
            [sources.a]
            url = "https://example.org/feed"
            [sources.b]
            url = "https://example.org/sitemap.xml"
            kind = "sitemap"
            websub = true
            [sinks.journal]
            kind = "log"
        "#,
    );
    let expected_prefixes = [
        "daemon.public_url: is set but daemon.listen is \"off\"",
        "sources.b.websub: only feed and auto sources can be pushed",
    ];
    for prefix in expected_prefixes {
        assert!(
            problems.iter().any(|problem| problem.starts_with(prefix)),
            "missing {prefix:?} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected_prefixes.len(), "{problems:#?}");
    for (public_url, expected) in [
        ("wirewatch/hooks", "is not a valid URL"),
        ("ftp://example.org/", "is not an http(s) URL"),
        ("https://example.org/?a=1", "has a query or fragment"),
    ] {
        let problems = problems_of(&format!(
                "[daemon]\npublic_url = \"{public_url}\"\n[sources.a]\nurl = \"https://example.org/feed\"\nwebsub = true\n"
            ));
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].starts_with("daemon.public_url: ") && problems[0].contains(expected),
            "{problems:#?}"
        );
        assert!(problems[1].starts_with("sources.a.websub: needs [daemon] public_url"));
    }
    // on by default for feeds once public_url is set, and off for other kinds
    let config = parse(
            "[daemon]\npublic_url = \"https://example.org/ww\"\n[sources.a]\nurl = \"https://example.org/feed\"\n[sources.b]\nurl = \"https://example.org/feed2\"\nwebsub = false\n[sources.c]\nurl = \"https://example.org/\"\nkind = \"sitemap\"\n",
            Path::new("."),
            &|_| None,
        )
        .unwrap();
    let websub: Vec<bool> = config.sources.iter().map(|source| source.websub).collect();
    assert_eq!(websub, vec![true, false, false]);
    assert_eq!(
        config.daemon.websub_callback("abc").unwrap().as_str(),
        "https://example.org/ww/websub/abc"
    );
    let config = parse("", Path::new("."), &|_| None).unwrap();
    assert_eq!(config.daemon.websub_callback("abc"), None);
}

#[test]
fn wrong_types_are_reported_with_the_semantic_errors_of_the_same_table() {
    let problems = problems_of(
            "[daemon]\nhealth_failures = -1\nbogus = 1\nhealth_sinks = [\"nope\"]\n\n[sources.a]\nurl = 5\ninterval = \"often\"\n",
        );
    let paths: Vec<&str> = problems
        .iter()
        .map(|problem| problem.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        paths,
        [
            "daemon.bogus",
            "daemon.health_failures",
            "sources.a.url",
            "daemon.health_sinks[0]",
            "sources.a.interval"
        ],
        "{problems:#?}"
    );
}

#[test]
fn webhook_url_errors_do_not_echo_the_url() {
    for url in ["ftp://example.org/hooks/TOKEN", "hooks/TOKEN?token=TOKEN"] {
        let problems = problems_of(&format!(
            "[sinks.hook]\nkind = \"webhook\"\nurl = \"{url}\"\n"
        ));
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].starts_with("sinks.hook.url: is not"),
            "{problems:#?}"
        );
        assert!(!problems[0].contains("TOKEN"), "{problems:#?}");
    }
}

#[test]
fn syntax_error_is_one_line_with_position() {
    let problems = problems_of("[sources.a\nurl = 1");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("not valid TOML: TOML parse error at line 1"),
        "{problems:?}"
    );
}

#[test]
fn rate_limits() {
    let limit = |count, seconds| {
        Ok(RateLimit {
            count,
            per: Duration::from_secs(seconds),
        })
    };
    assert_eq!(parse_rate_limit("1/s"), limit(1, 1));
    assert_eq!(parse_rate_limit("5/2s"), limit(5, 2));
    assert_eq!(parse_rate_limit("30 / min"), limit(30, 60));
    assert!(parse_rate_limit("fast")
        .unwrap_err()
        .contains("like \"1/s\""));
    assert!(parse_rate_limit("0/s").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("15MiB"), Ok(15 << 20));
    assert_eq!(parse_size("512 KB"), Ok(512_000));
    assert_eq!(parse_size("100"), Ok(100));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("0").is_err());
}

#[test]
fn secrets_do_not_show_in_debug() {
    let text = r#"
            [sinks.hook]
            kind = "webhook"
            url = "https://example.org/hook"
            secret = "${SECRET}"
        "#;
    let environment = |name: &str| {
        (name == "SECRET").then(|| "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string())
    };
    let config = parse(text, Path::new("."), &environment).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("MfKQ9r8"), "{debug}");
}

const SOURCE: &str =
    "[sources.s]\nurl = \"https://example.org/feed\"\n[watchlists.w]\nkeywords = [\"x\"]\n";

#[test]
fn email_sink_from_keys_or_mailto_with_a_digest() {
    let config = load(&format!(
        r#"{SOURCE}
[sinks.mail]
kind = "email"
host = "SMTP.example.org"
username = "alerts@example.org"
password = "${{SMTP_PASSWORD}}"
from = "\"Wire Watch\" <alerts@example.org>"
to = ["me@example.org", "You <you@example.org>"]
digest = "1h"

[sinks.url]
url = "mailtos://bot:pw@smtp.example.org?to=me@example.org"
"#
    ))
    .unwrap();
    let SinkKind::Email { target, .. } = &config.sinks[0].kind else {
        panic!("not an email sink: {:?}", config.sinks[0].kind);
    };
    assert_eq!(
        (
            target.smtp_host.as_str(),
            target.port,
            target.security,
            target.password.as_ref().map(|p| p.expose())
        ),
        (
            "smtp.example.org",
            587,
            crate::target_url::SmtpSecurity::StartTls,
            Some("hunter2")
        )
    );
    assert_eq!(target.to, vec!["me@example.org", "you@example.org"]);
    assert_eq!(
        (target.from.as_str(), target.from_name.as_deref()),
        ("alerts@example.org", Some("Wire Watch"))
    );
    assert_eq!(config.sinks[0].digest, Some(Duration::from_secs(3600)));
    let SinkKind::Email { target, .. } = &config.sinks[1].kind else {
        panic!("mailtos:// is an email sink");
    };
    assert_eq!((target.port, target.to.len()), (465, 1));
}

#[test]
fn sink_key_errors_say_what_fits() {
    let problems = load(&format!(
        r#"{SOURCE}
[sinks.mail]
kind = "email"
host = "smtp.example.org"
security = "none"
username = "a"
password = "b"
to = ["not-an-address"]

[sinks.both]
kind = "email"
url = "mailto://a:b@smtp.example.org"
host = "smtp.example.org"

[sinks.journal]
kind = "log"
digest = "1h"

[sinks.hook]
kind = "webhook"
url = "https://example.org/hook"
digest = "soon"
from = "a@example.org"

[sinks.team]
kind = "slack"
url = "https://hooks.slack.com/services/T1/B2/c3"
api_base = "http://127.0.0.1:1"
template = "{{{{ watchlist }}}}"
digest = "10m"

[sinks.bot]
kind = "telegram"
url = "tgram://123:abc/-100"
api_base = "http://127.0.0.1:8081?x=1"
"#
    ))
    .unwrap_err();
    assert_eq!(
            problems,
            vec![
                "sinks.bot.api_base: \"http://127.0.0.1:8081?x=1\" has a query or fragment; give the server's base URL, like \"http://127.0.0.1:8081\"",
                "sinks.both.url: give either a mailto:// url or host, from and to (with port, security, username, password), not both",
                "sinks.hook.from: only email sinks take SMTP settings",
                "sinks.hook.digest: invalid duration \"soon\" (expected number at 0); write a number with a unit, like \"90s\", \"5m\", \"2h\" or \"3d\"",
                "sinks.journal.digest: a log sink writes one line per alert; digests are for webhook, chat and email sinks",
                "sinks.mail.from: missing: an email sink needs from = \"alerts@example.org\" (or a mailto:// url)",
                "sinks.mail.to[0]: \"not-an-address\" is not an email address like \"you@example.org\"",
                "sinks.mail.security: \"none\" would send the password unencrypted; use \"starttls\" or \"tls\", or a relay that needs no login",
                "sinks.team.api_base: only telegram sinks take api_base (the Bot API server); other kinds take their endpoint as url",
                "sinks.team.digest: a digest uses the service's digest format, so it cannot be combined with a template (the template shapes single alerts)",
            ]
        );
}

#[test]
fn json_urls_are_webhook_sinks_with_their_basic_auth_and_headers() {
    let config = load(&format!(
        r#"{SOURCE}
[sinks.inferred]
url = "jsons://bot:pa%3Ass@hooks.example.org/in?+X-Token=${{SECRET}}&x=1"

[sinks.named]
kind = "webhook"
url = "json://127.0.0.1:8080/hook"
"#
    ))
    .unwrap();
    let SinkKind::Webhook {
        url,
        basic_auth,
        headers,
        ..
    } = &config.sinks[0].kind
    else {
        panic!("json(s):// is a webhook sink: {:?}", config.sinks[0].kind);
    };
    assert_eq!(url.as_str(), "https://hooks.example.org/in?x=1");
    assert_eq!(
        basic_auth
            .as_ref()
            .map(|(user, password)| (user.as_str(), password.expose())),
        Some(("bot", "pa:ss"))
    );
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.expose()))
        .collect();
    assert_eq!(
        headers,
        vec![("X-Token", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    );
    let SinkKind::Webhook { url, .. } = &config.sinks[1].kind else {
        panic!("kind = \"webhook\" takes json://");
    };
    assert_eq!(url.as_str(), "http://127.0.0.1:8080/hook");

    let problems = problems_of(&format!(
        r#"{SOURCE}
[sinks.own]
url = "json://example.org/?+Webhook-Signature=v1,x"

[sinks.twice]
url = "json://user:pw@example.org/?+Authorization=Bearer%20x"

[sinks.broken]
kind = "webhook"
url = "json://example.org/?+X-A=a%0Ab"
"#
    ));
    assert_eq!(
        problems,
        vec![
            "sinks.broken.url: json:// URL: the value of header `X-A` holds a control character; expected json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value",
            "sinks.own.url: header `Webhook-Signature` is set by wirewatch on every request; remove the +Webhook-Signature parameter",
            "sinks.twice.url: gives both a user (basic auth) and +Authorization; keep one",
        ]
    );
}

#[test]
fn repeated_errors_show_fifty_of_each_kind_and_count_the_rest() {
    let mut text = String::from(
        "[sources.s]\nurl = \"https://example.org/feed\"\n[sinks.journal]\nkind = \"log\"\n",
    );
    for index in 0..120 {
        text.push_str(&format!("[watchlists.w{index:03}]\nquery = 'a AND'\n"));
    }
    text.push_str(
        "[sinks.mail]\nkind = \"email\"\nhost = \"smtp.example.org\"\nfrom = \"a@example.org\"\n",
    );
    text.push_str(&format!("to = [{}]\n", vec!["\"x\""; 60].join(", ")));
    let error = crate::config::Config::parse(&text, Path::new("w.toml"), Path::new("."), &|_| None)
        .unwrap_err();
    assert_eq!(error.problems.len(), 180);
    let shown = error.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "w.toml: 180 errors in the configuration");
    assert_eq!(
        lines.iter().filter(|line| line.contains(".query:")).count(),
        50
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.contains("sinks.mail.to["))
            .count(),
        50
    );
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "  … and 10 more errors at sinks.*.to[] (the first 50 are shown)",
            "  … and 70 more errors at watchlists.*.query (the first 50 are shown)",
        ]
    );
}

/// `[daemon] database`: a PostgreSQL URL (its password from `${VAR}`), kept as a secret; a
/// wrong value is refused without echoing it (it may hold a password).
#[test]
fn database_url_is_a_secret_and_never_echoed() {
    let base = r#"
            [sources.a]
            url = "https://example.org/feed"
            [watchlists.w]
            keywords = ["Putin"]
            [sinks.journal]
            kind = "log"
        "#;
    let config = load(&format!(
        "[daemon]\ndatabase = \"postgres://wirewatch:${{SMTP_PASSWORD}}@db.internal/wirewatch\"\n{base}"
    ))
    .unwrap();
    let url = config.daemon.database.as_ref().unwrap();
    assert_eq!(
        url.expose(),
        "postgres://wirewatch:hunter2@db.internal/wirewatch"
    );
    assert!(!format!("{:?}", config.daemon).contains("hunter2"));
    assert_eq!(
        config.daemon.database_label(),
        "postgres://wirewatch:***@db.internal/wirewatch"
    );
    let problems = problems_of(&format!(
        "[daemon]\ndatabase = \"mysql://root:hunter2@db/x\"\n{base}"
    ));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("daemon.database: must be a PostgreSQL URL"));
    assert!(!problems[0].contains("hunter2"), "{problems:?}");
}

#[test]
fn console_needs_a_token_beyond_loopback() {
    let base = MINIMAL;
    let exposed = format!("[daemon]\nlisten = \"0.0.0.0:9412\"\n{base}");
    let problems = problems_of(&exposed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with(
            "console.token: is required: daemon.listen (0.0.0.0:9412) is not a loopback address"
        ),
        "{problems:?}"
    );
    let with_token = format!(
        "[daemon]\nlisten = \"0.0.0.0:9412\"\n[console]\ntoken = \"correct-horse-battery-staple\"\n{base}"
    );
    let config = load(&with_token).unwrap();
    assert_eq!(
        config.console.token.as_ref().map(|token| token.expose()),
        Some("correct-horse-battery-staple")
    );
    let turned_off =
        format!("[daemon]\nlisten = \"0.0.0.0:9412\"\n[console]\nenabled = false\n{base}");
    assert!(!load(&turned_off).unwrap().console.enabled);
    // loopback: no token needed, actions stay off
    let local = load(base).unwrap();
    assert!(local.console.enabled && local.console.token.is_none());
    let short = format!("[console]\ntoken = \"hunter2\"\n{base}");
    let problems = problems_of(&short);
    assert!(
        problems[0].starts_with("console.token: is shorter than 16 characters")
            && !problems[0].contains("hunter2"),
        "{problems:?}"
    );
}

#[test]
fn cluster_keys() {
    let body = "\n[sources.a]\nurl = \"https://example.org/feed\"\n[watchlists.w]\nkeywords = [\"x\"]\n[sinks.journal]\nkind = \"log\"\n";
    let config = load(&format!(
        "[daemon]\ninstance = \"news-1\"\nlease = \"90s\"\n{body}"
    ))
    .unwrap();
    assert_eq!(config.daemon.instance.as_deref(), Some("news-1"));
    assert_eq!(config.daemon.lease, Duration::from_secs(90));
    let config = load(body).unwrap();
    assert_eq!(config.daemon.instance, None);
    assert_eq!(config.daemon.lease, Duration::from_secs(60));
    let problems = problems_of(&format!(
        "[daemon]\ninstance = \"two words\"\nlease = \"0s\"\n{body}"
    ));
    assert!(
        problems[0].starts_with("daemon.instance: \"two words\" is not a usable name"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("daemon.lease: must be between 1s and 1h"),
        "{problems:?}"
    );
    assert_eq!(
        problems_of(&format!("[daemon]\nlease = \"2h\"\n{body}")).len(),
        1
    );
}
