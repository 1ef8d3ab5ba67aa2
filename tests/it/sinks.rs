//! Every sink kind end to end through the real binary, each against a local receiver: mail to a
//! minimal SMTP server written here (the exact message, and a 5xx refusal becoming a dead letter
//! at once), one sink of each chat kind pointed at a local HTTP receiver through its endpoint
//! override (the exact request bodies and the headers that matter), digests (one request for a
//! window's alerts, also when the daemon is killed mid-window; a chat digest cut by the service's
//! limits followed by the rest), and source-health messages
//! reaching a Slack and an email sink in their own health formats.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::config::ConfigBuilder;
use common::{wirewatch, Behaviour, FixtureServer, Receiver};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How the SMTP server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmtpBehaviour {
    Accept,
    /// Refuse every recipient with this reply code (550: no such mailbox; 451: try later).
    RefuseRecipients(u16),
}

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
struct Mail {
    from: String,
    to: Vec<String>,
    /// The DATA section, dot-stuffing removed, CRLF line ends kept.
    data: String,
}

/// A minimal SMTP server on 127.0.0.1:0: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT over
/// plain TCP, enough for a client that is told not to use TLS.
struct SmtpServer {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    /// Transactions attempted (a MAIL command), accepted or not.
    transactions: Arc<Mutex<usize>>,
}

impl SmtpServer {
    async fn start(behaviour: SmtpBehaviour) -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let transactions = Arc::new(Mutex::new(0));
        let (shared_mails, shared_transactions) = (mails.clone(), transactions.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (mails, transactions) = (shared_mails.clone(), shared_transactions.clone());
                tokio::spawn(async move {
                    let _ = session(socket, behaviour, mails, transactions).await;
                });
            }
        });
        SmtpServer {
            port,
            mails,
            transactions,
        }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    behaviour: SmtpBehaviour,
    mails: Arc<Mutex<Vec<Mail>>>,
    transactions: Arc<Mutex<usize>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test.invalid ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => "250-test.invalid\r\n250 8BITMIME\r\n".into(),
            "HELO" | "NOOP" => "250 ok\r\n".into(),
            "RSET" => {
                from.clear();
                to.clear();
                "250 ok\r\n".into()
            }
            "MAIL" => {
                *transactions.lock().unwrap() += 1;
                from = address(&command);
                to.clear();
                "250 ok\r\n".into()
            }
            "RCPT" => match behaviour {
                SmtpBehaviour::Accept => {
                    to.push(address(&command));
                    "250 ok\r\n".into()
                }
                SmtpBehaviour::RefuseRecipients(code) => {
                    format!("{code} {code}: refused by the test server\r\n")
                }
            },
            "DATA" if to.is_empty() => "554 no valid recipients\r\n".into(),
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    // RFC 5321 4.5.2: a leading dot was doubled by the client
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                mails.lock().unwrap().push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    data,
                });
                "250 queued\r\n".into()
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 not implemented\r\n".into(),
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

/// `MAIL FROM:<a@b> SIZE=…` → `a@b`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_string())
        .unwrap_or_default()
}

/// The message with what changes from run to run replaced: the Date header and the MIME
/// boundary (random, so article text can never forge it).
fn redact(data: &str) -> String {
    let boundary = data
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("no boundary")
        .to_string();
    data.replace(&boundary, "[boundary]")
        .replace("\r\n", "\n")
        .lines()
        .map(|line| {
            if line.starts_with("Date: ") {
                "Date: [date]".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The world feed and one watchlist; each test appends its sinks.
fn base_config(server: &FixtureServer) -> String {
    ConfigBuilder::local()
        .source(
            "world",
            &format!(
                "url = \"{}/feeds/world.rss\"\nmax_age = \"none\"",
                server.base
            ),
        )
        .watchlist(
            "russia-china",
            "query = '(Putin OR Kremlin) AND (China OR \"Xi Jinping\")'",
        )
        .build()
}

fn email_sink(port: u16) -> String {
    format!(
        r#"
[sinks.mail]
kind = "email"
host = "127.0.0.1"
port = {port}
security = "none"
from = "alerts@wirewatch.example"
to = ["desk@example.org", "editor@example.org"]
retry = ["1h"]
"#
    )
}

async fn once(config: &std::path::Path) -> common::Output {
    let output = wirewatch(&["once", "--config", config.to_str().unwrap()]).await;
    assert!(output.status.success(), "{}", output.stderr);
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_arrives_as_one_multipart_message_with_a_stable_message_id() {
    let server = FixtureServer::start("e2e").await;
    let smtp = SmtpServer::start(SmtpBehaviour::Accept).await;
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &format!("{}{}", base_config(&server), email_sink(smtp.port)),
    );
    let output = once(&path).await;
    assert!(
        output.stderr.contains("1 alert created, 1 delivered"),
        "{}",
        output.stderr
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "alerts@wirewatch.example");
    assert_eq!(mail.to, vec!["desk@example.org", "editor@example.org"]);
    insta::assert_snapshot!("email_message", redact(&mail.data));

    // a replay sends the same alert again: recognisably the same message
    let id_line = |data: &str| {
        data.lines()
            .find(|line| line.starts_with("Message-ID: "))
            .unwrap_or("")
            .to_string()
    };
    let alert_id = id_line(&mail.data)
        .trim_start_matches("Message-ID: <")
        .split('@')
        .next()
        .unwrap()
        .to_string();
    assert!(alert_id.starts_with("msg_"), "{}", mail.data);
    let replay = wirewatch(&[
        "alerts",
        "replay",
        "--config",
        path.to_str().unwrap(),
        &alert_id,
    ])
    .await;
    assert!(replay.status.success(), "{}", replay.stderr);
    once(&path).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert_eq!(id_line(&mails[1].data), id_line(&mails[0].data));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_5xx_is_a_dead_letter_at_once_and_4xx_is_retried() {
    let server = FixtureServer::start("e2e").await;
    for (code, summary) in [
        (550, "0 delivered, 0 awaiting retry, 1 dead"),
        (451, "0 delivered, 1 awaiting retry, 0 dead"),
    ] {
        let smtp = SmtpServer::start(SmtpBehaviour::RefuseRecipients(code)).await;
        let folder = tempfile::tempdir().unwrap();
        let path = common::write_config(
            folder.path(),
            &format!(
                "{}{}",
                base_config(&server),
                email_sink(smtp.port).replace("retry = [\"1h\"]", "retry = [\"1h\", \"2h\"]")
            ),
        );
        let output = once(&path).await;
        assert!(output.stderr.contains(summary), "{code}: {}", output.stderr);
        assert_eq!(*smtp.transactions.lock().unwrap(), 1, "{code}: one attempt");
        assert!(smtp.mails().is_empty());
        let list = wirewatch(&["alerts", "list", "--config", path.to_str().unwrap()]).await;
        assert!(
            list.stdout
                .contains(&format!("({code}): {code}: refused by the test server")),
            "{code}: {}",
            list.stdout
        );
    }
}

/// The body and the headers that matter of the one request a receiver got.
fn request_of(receiver: &Receiver) -> common::Received {
    let all = receiver.all();
    assert_eq!(all.len(), 1, "{all:#?}");
    all[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_chat_kind_reaches_its_local_receiver() {
    let server = FixtureServer::start("e2e").await;
    let receivers = [
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    ];
    let [slack, discord, teams, telegram, ntfy] = &receivers;
    let root = |receiver: &Receiver| receiver.url.trim_end_matches("/hooks").to_string();
    let text = format!(
        r#"{base}
[sinks.slack]
kind = "slack"
url = "{slack}/services/T1/B2/c3"

[sinks.discord]
kind = "discord"
url = "{discord}/api/webhooks/1/token"

[sinks.teams]
kind = "teams"
url = "{teams}/teams/incoming"

[sinks.telegram]
url = "tgram://123456:AAH-test_token/-1001234567890"
api_base = "{telegram}"

[sinks.ntfy]
url = "ntfy://reader:s3cret@{ntfy}/wirewatch-alerts"
"#,
        base = base_config(&server),
        slack = root(slack),
        discord = root(discord),
        teams = root(teams),
        telegram = root(telegram),
        ntfy = root(ntfy).trim_start_matches("http://"),
    );
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(folder.path(), &text);
    let output = once(&path).await;
    assert!(
        output.stderr.contains("1 alert created, 5 delivered"),
        "{}",
        output.stderr
    );
    for (name, receiver, path) in [
        ("slack", slack, "/services/T1/B2/c3"),
        ("discord", discord, "/api/webhooks/1/token"),
        ("teams", teams, "/teams/incoming"),
        (
            "telegram",
            telegram,
            "/bot123456:AAH-test_token/sendMessage",
        ),
        ("ntfy", ntfy, ""),
    ] {
        let request = request_of(receiver);
        assert_eq!(request.path, path, "{name}");
        assert_eq!(
            request.headers["content-type"], "application/json",
            "{name}"
        );
        let authorization = request.headers.get("authorization").map(String::as_str);
        match name {
            // ntfy's basic auth from the URL's user info: reader:s3cret
            "ntfy" => assert_eq!(authorization, Some("Basic cmVhZGVyOnMzY3JldA=="), "{name}"),
            // the others authenticate by their URL alone
            _ => assert_eq!(authorization, None, "{name}"),
        }
        insta::assert_json_snapshot!(format!("chat_{name}"), request.json());
    }
}

/// Regression: json:// and jsons:// URLs parsed and inferred kind = "webhook", then the webhook
/// sink refused them as not http(s). The alert now arrives with what the URL gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_url_webhooks_arrive_with_their_headers_and_basic_auth() {
    let server = FixtureServer::start("e2e").await;
    let inferred = Receiver::start().await;
    let named = Receiver::start().await;
    let authority = |receiver: &Receiver| {
        receiver
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/hooks")
            .to_string()
    };
    let text = format!(
        r#"{base}
[sinks.inferred]
url = "json://reader:s3cret@{inferred}/hooks/json?+X-Token=${{HOOK_TOKEN}}&+X-Team=desk%20one"

[sinks.named]
kind = "webhook"
url = "json://{named}/hooks/named?+X-Token=plain"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
"#,
        base = base_config(&server),
        inferred = authority(&inferred),
        named = authority(&named),
    );
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(folder.path(), &text);
    let output = common::wirewatch_with_env(
        &["once", "--config", path.to_str().unwrap()],
        &[("HOOK_TOKEN", "t0ken")],
    )
    .await;
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output.stderr.contains("1 alert created, 2 delivered"),
        "{}",
        output.stderr
    );

    let request = request_of(&inferred);
    assert_eq!(request.path, "json");
    // basic auth from the URL's user info: reader:s3cret
    assert_eq!(
        request.headers.get("authorization").map(String::as_str),
        Some("Basic cmVhZGVyOnMzY3JldA==")
    );
    assert_eq!(request.headers["x-token"], "t0ken");
    assert_eq!(request.headers["x-team"], "desk one");
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.headers.contains_key("webhook-id"));
    assert!(!request.headers.contains_key("webhook-signature"));
    assert_eq!(request.json()["watchlist"], "russia-china");

    let request = request_of(&named);
    assert_eq!(request.path, "named");
    assert_eq!(request.headers.get("authorization"), None);
    assert_eq!(request.headers["x-token"], "plain");
    assert!(request.headers["webhook-signature"].starts_with("v1,"));
}

/// Regression (issue 17): with several Telegram chats, a chat that failed made the retry send
/// the alert to the chats that had accepted it already. Each chat now gets each alert once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_chat_does_not_resend_to_the_chats_already_done() {
    let server = FixtureServer::start("e2e").await;
    let telegram = Receiver::start().await;
    let text = format!(
        r#"{base}
[sinks.telegram]
url = "tgram://123456:AAH-test_token/-1001/-1002/-1003"
api_base = "{api}"
retry = ["1s", "1s"]
rate_limit = "none"
"#,
        base = base_config(&server),
        api = telegram.url.trim_end_matches("/hooks"),
    );
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(folder.path(), &text);
    telegram.set(Behaviour::FailWhen(r#""chat_id":"-1002""#, 503));
    let first = once(&path).await;
    assert!(
        first.stderr.contains("1 awaiting retry"),
        "{}",
        first.stderr
    );
    telegram.set(Behaviour::Accept);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = once(&path).await;
    assert!(
        second.stderr.contains("0 awaiting retry"),
        "{}",
        second.stderr
    );
    let chats: Vec<(String, u16)> = telegram
        .all()
        .iter()
        .map(|request| {
            (
                request.json()["chat_id"].as_str().unwrap().to_string(),
                request.status,
            )
        })
        .collect();
    let chat = |id: &str, status: u16| (id.to_string(), status);
    assert_eq!(
        chats,
        [
            chat("-1001", 204),
            chat("-1002", 503),
            chat("-1002", 204),
            chat("-1003", 204)
        ]
    );
}

fn digest_config(server: &FixtureServer, hook: &str, window: &str) -> String {
    ConfigBuilder::local()
        .source(
            "nytimes",
            &format!(
                "url = \"{}/feeds/nytimes.xml\"\nfetch_article = false\nmax_age = \"none\"",
                server.base
            ),
        )
        .watchlist("broad", "query = 'the OR le'")
        .sink(
            "hook",
            &format!(
                "kind = \"webhook\"\nurl = \"{hook}\"\nsecret = \"{SECRET}\"\ndigest = \"{window}\"\nretry = [\"1s\", \"1s\", \"1s\"]"
            ),
        )
        .build()
}

/// Rows of `alerts list`, once it answers (the database may not exist yet).
async fn listed(path: &std::path::Path) -> String {
    wirewatch(&["alerts", "list", "--config", path.to_str().unwrap()])
        .await
        .stdout
}

fn row_count(list: &str) -> usize {
    list.lines()
        .last()
        .and_then(|line| line.strip_suffix(" rows").or(line.strip_suffix(" row")))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

/// A digest request: its id, the alert ids inside, and whether its signature verifies.
fn digest_of(request: &common::Received) -> (String, Vec<String>) {
    let json = request.json();
    assert_eq!(json["type"], "alert.digest");
    assert_eq!(json["version"], 1);
    let id = request.headers["webhook-id"].clone();
    assert_eq!(json["id"], id.as_str());
    assert!(id.starts_with("dig_"), "{id}");
    let key = wirewatch::sink::webhook::signing_key(SECRET).unwrap();
    let timestamp: i64 = request.headers["webhook-timestamp"].parse().unwrap();
    assert_eq!(
        request.headers["webhook-signature"],
        wirewatch::sink::webhook::sign(&key, &id, timestamp, request.body.as_bytes())
    );
    let alerts = json["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            assert_eq!(alert["type"], "article.matched");
            alert["id"].as_str().unwrap().to_string()
        })
        .collect();
    (id, alerts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_window_is_one_request_even_across_a_kill() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &digest_config(&server, &format!("{}/digest", receiver.url), "15s"),
    );

    // first run: the alerts are committed (the poll's summary line comes after its last
    // commit), then the daemon dies inside the window
    let mut daemon = common::Daemon::start(&path, &[("WIREWATCH_LOG", "info")]);
    assert!(
        daemon.wait_for_log("polled", Duration::from_secs(60)).await,
        "{}",
        daemon.log_text()
    );
    daemon.kill().await;
    let count = row_count(&listed(&path).await);
    assert!(
        count > 5,
        "the scenario needs several alerts: {count}\n{}",
        listed(&path).await
    );
    assert!(
        receiver.all().is_empty(),
        "nothing is sent before the window closes"
    );
    let list = listed(&path).await;
    assert!(
        list.contains("waiting for its 15s digest window to close"),
        "{list}"
    );

    // second run: the same window closes once, with every alert in one request
    let mut daemon = common::Daemon::start(&path, &[]);
    assert!(
        receiver.wait_for(1, Duration::from_secs(60)).await,
        "no digest arrived"
    );
    let request = request_of(&receiver);
    let (digest, mut alerts) = digest_of(&request);
    let total = alerts.len();
    alerts.sort();
    alerts.dedup();
    assert_eq!(alerts.len(), total, "each alert once");
    // wait until the outcome is recorded: then every alert of the store must be in this one
    // digest (one not in it would be waiting or pending, the sign of a second digest to come)
    let delivered = format!("delivered in digest {digest}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut list = listed(&path).await;
    while Instant::now() < deadline && list.matches(&delivered).count() < total {
        tokio::time::sleep(Duration::from_millis(100)).await;
        list = listed(&path).await;
    }
    daemon.kill().await;
    assert_eq!(row_count(&list), total, "{list}");
    assert_eq!(list.matches(&delivered).count(), total, "{list}");
    assert_eq!(receiver.all().len(), 1, "one request for the window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_digest_is_retried_with_the_same_id_and_alerts() {
    let server = FixtureServer::start("e2e").await;
    let receiver = Receiver::start().await;
    receiver.set(common::Behaviour::Fail(503));
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(
        folder.path(),
        &digest_config(&server, &format!("{}/digest", receiver.url), "1s"),
    );
    let mut daemon = common::Daemon::start(&path, &[]);
    assert!(receiver.wait_for(1, Duration::from_secs(30)).await);
    receiver.set(common::Behaviour::Accept);
    // every digest refused so far is accepted on a later attempt
    let settled = || {
        let requests = receiver.all();
        requests.iter().all(|refused| {
            requests.iter().any(|accepted| {
                accepted.status == 204
                    && accepted.headers["webhook-id"] == refused.headers["webhook-id"]
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !settled() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    daemon.kill().await;
    assert!(settled(), "{:#?}", receiver.all());
    let requests = receiver.all();
    assert_eq!(requests[0].status, 503);
    let mut by_id = std::collections::BTreeMap::new();
    for request in &requests {
        let (id, alerts) = digest_of(request);
        assert_eq!(
            by_id.entry(id.clone()).or_insert_with(|| alerts.clone()),
            &alerts,
            "{id}: every attempt carries the same alerts"
        );
    }
}

/// Issue 17: a Discord digest holds 10 embeds at most. The alerts past them used to count as
/// delivered with the first message ("and N more alerts" and nothing else); now only the listed
/// ones are settled and the rest follow at once in further messages of the same digest, so each
/// alert is listed exactly once and every one ends up delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_cut_by_a_chat_limit_sends_the_rest_in_a_follow_up() {
    let server = FixtureServer::start("e2e").await;
    let discord = Receiver::start().await;
    let folder = tempfile::tempdir().unwrap();
    let text = digest_config(&server, "http://unused.invalid/hook", "10s").replace(
        "[sinks.hook]\nkind = \"webhook\"\nurl = \"http://unused.invalid/hook\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        &format!(
            "[sinks.hook]\nkind = \"discord\"\nurl = \"{}/api/webhooks/1/token\"\n",
            discord.url.trim_end_matches("/hooks")
        ),
    );
    assert!(text.contains("kind = \"discord\""), "{text}");
    let path = common::write_config(folder.path(), &text);
    let mut daemon = common::Daemon::start(&path, &[]);
    // every alert of the store delivered (the first poll's alerts are all in by the time the
    // first digest forms; the count is read once the receiver has something)
    assert!(
        discord.wait_for(1, Duration::from_secs(60)).await,
        "no digest arrived"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut list = listed(&path).await;
    while Instant::now() < deadline
        && (row_count(&list) == 0 || list.matches("delivered in digest").count() < row_count(&list))
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        list = listed(&path).await;
    }
    daemon.kill().await;
    let total = row_count(&list);
    assert!(
        total > 10,
        "the scenario needs more alerts than one message holds: {list}"
    );
    assert_eq!(list.matches("delivered in digest").count(), total, "{list}");

    let id = regex::Regex::new("msg_[0-9a-f]{32}").unwrap();
    let requests = discord.all();
    let mut listed_ids = Vec::new();
    for request in &requests {
        let json = request.json();
        let embeds = json["embeds"].as_array().unwrap();
        assert!(embeds.len() <= 10, "{json:#}");
        for embed in embeds {
            let footer = embed["footer"]["text"].as_str().unwrap_or_default();
            let found = id.find(footer).map(|found| found.as_str().to_string());
            listed_ids.push(found.unwrap_or_else(|| panic!("no alert id in {embed:#}")));
        }
        // a cut message says how many follow
        if let Some(content) = json["content"].as_str() {
            assert!(
                content.starts_with("and ") && content.ends_with(" more alerts"),
                "{content}"
            );
        }
    }
    let mut distinct = listed_ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), listed_ids.len(), "each alert listed once");
    assert_eq!(listed_ids.len(), total, "every alert listed: {requests:#?}");
    for alert in &distinct {
        assert!(
            list.contains(alert.as_str()),
            "{alert} not in the store: {list}"
        );
    }
    assert!(
        requests.len() >= total.div_ceil(10),
        "{} messages",
        requests.len()
    );
    assert!(
        requests[0].json()["content"]
            .as_str()
            .is_some_and(|content| content.ends_with("more alerts")),
        "the first message is cut: {:#}",
        requests[0].json()
    );
}

/// Quoted-printable decoded (soft line breaks joined, `=XX` bytes restored), so a snapshot does
/// not depend on where the encoder happened to wrap a line around an id or a time.
fn decode_quoted_printable(text: &str) -> String {
    wirewatch::target_url::decode_hex_escapes(&text.replace("=\n", ""), b'=')
}

/// What changes from run to run in a health message: the fixture server's port, the message
/// id (derived from the time the source turned unhealthy) and the times themselves.
fn redact_health(text: &str, server: &FixtureServer) -> String {
    let text = text.replace(&server.base, "http://[fixtures]");
    let text = regex::Regex::new("msg_[0-9a-f]{32}")
        .unwrap()
        .replace_all(&text, "msg_[id]");
    regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
        .unwrap()
        .replace_all(&text, "[time]")
        .into_owned()
}

/// A source that fails is reported to a Slack sink and an email sink in their own health
/// formats — delivered, not dead letters — and so is its recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_messages_reach_chat_and_email_sinks_in_their_own_format() {
    let server = FixtureServer::start("e2e").await;
    let smtp = SmtpServer::start(SmtpBehaviour::Accept).await;
    let slack = Receiver::start().await;
    let config = |feed: &str| {
        format!(
            r#"
[daemon]
listen = "off"
health_sinks = ["slack", "mail"]
health_failures = 1

[fetch]
allow_private_networks = true

[sources.world]
url = "{base}/feeds/{feed}"
max_age = "none"

[watchlists.nothing]
query = "zzzz-never-in-any-article"

[sinks.slack]
kind = "slack"
url = "{slack}/services/T1/B2/c3"
# a template applies to alerts only: health messages keep their built-in format
template = "{{{{ watchlist }}}}: {{{{ article.title }}}}"
{mail}"#,
            base = server.base,
            slack = slack.url.trim_end_matches("/hooks"),
            mail = email_sink(smtp.port),
        )
    };
    let folder = tempfile::tempdir().unwrap();
    let path = common::write_config(folder.path(), &config("missing.rss"));
    let output = once(&path).await;
    assert!(
        output
            .stderr
            .contains("2 delivered, 0 awaiting retry, 0 dead"),
        "{}",
        output.stderr
    );
    common::write_config(folder.path(), &config("world.rss"));
    let output = once(&path).await;
    assert!(
        output
            .stderr
            .contains("2 delivered, 0 awaiting retry, 0 dead"),
        "{}",
        output.stderr
    );

    let requests = slack.all();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for (request, kind) in requests.iter().zip(["unhealthy", "recovered"]) {
        assert_eq!(request.path, "/services/T1/B2/c3");
        let body = serde_json::to_string_pretty(&request.json()).unwrap();
        insta::assert_snapshot!(
            format!("health_slack_{kind}"),
            redact_health(&body, &server)
        );
    }
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    for (mail, kind) in mails.iter().zip(["unhealthy", "recovered"]) {
        assert_eq!(mail.to, vec!["desk@example.org", "editor@example.org"]);
        let message = decode_quoted_printable(&redact(&mail.data));
        insta::assert_snapshot!(
            format!("health_email_{kind}"),
            redact_health(&message, &server)
        );
    }
    let dead = wirewatch(&[
        "alerts",
        "list",
        "--dead",
        "--config",
        path.to_str().unwrap(),
    ])
    .await;
    assert!(
        !dead.stdout.contains("source."),
        "no dead letters: {}",
        dead.stdout
    );
}
