//! Target URL parsing as a table: every scheme's accepted forms and every error message.
use super::*;

fn check(input: &str, expected: Result<TargetUrl, &str>) {
    let got = parse_target_url(input).map_err(|error| error.to_string());
    assert_eq!(got, expected.map_err(str::to_string), "{input}");
}

fn secret(value: &str) -> Secret {
    Secret::new(value)
}

fn email(to: &[&str]) -> EmailTarget {
    EmailTarget {
        smtp_host: "smtp.example.com".into(),
        port: 587,
        security: SmtpSecurity::StartTls,
        user: Some("alerts".into()),
        password: Some(secret("p@ss")),
        from: "alerts@smtp.example.com".into(),
        from_name: None,
        to: to.iter().map(|address| address.to_string()).collect(),
        cc: vec![],
        bcc: vec![],
    }
}

#[test]
fn generic_webhooks() {
    check(
        "json://example.org:8080/hooks/alerts?x=1&+X-Token=abc%20d&format=markdown",
        Ok(TargetUrl::Json {
            url: secret("http://example.org:8080/hooks/alerts?x=1"),
            basic_auth: None,
            headers: vec![("X-Token".into(), secret("abc d"))],
        }),
    );
    check(
        "JSONS://user:pa%3Ass@Example.org/in",
        Ok(TargetUrl::Json {
            url: secret("https://example.org/in"),
            basic_auth: Some(("user".into(), secret("pa:ss"))),
            headers: vec![],
        }),
    );
    check(
        "json:///path",
        Err("json:// URL: the host is missing; expected json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value"),
    );
    check(
        "jsons://example.org/?+Bad%20Name=1",
        Err("jsons:// URL: header name `Bad Name` is not a valid HTTP header name; expected json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value"),
    );
    check(
        "json://:secret@example.org/",
        Err("json:// URL: a password is given without a user; expected json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value"),
    );
    check(
        "json://exa mple.org/",
        Err("json:// URL: cannot be parsed (invalid domain character); expected json://host[:port]/path (http) or jsons://host[:port]/path (https), headers as ?+Name=value"),
    );
}

#[test]
fn slack_webhooks() {
    let webhook = |channel: Option<&str>| {
        Ok(TargetUrl::Slack {
            webhook_url: secret("https://hooks.slack.com/services/T1234/B5678/abcDEF123"),
            channel: channel.map(str::to_string),
        })
    };
    check("slack://T1234/B5678/abcDEF123", webhook(None));
    check("slack://Bot@T1234/B5678/abcDEF123/", webhook(None));
    check(
        "slack://T1234/B5678/abcDEF123/#alerts",
        webhook(Some("alerts")),
    );
    check(
        "slack://T1234/B5678/abcDEF123/alerts",
        webhook(Some("alerts")),
    );
    check(
        "slack://T1234/B5678/abcDEF123?channel=%23news",
        webhook(Some("news")),
    );
    let form = "expected slack://TokenA/TokenB/TokenC, from https://hooks.slack.com/services/TokenA/TokenB/TokenC";
    check(
        "slack://T1234/B5678",
        Err(&format!(
            "slack:// URL: 2 of the 3 webhook tokens given; {form}"
        )),
    );
    check(
        "slack://T1234/B-5678/abc",
        Err(&format!(
            "slack:// URL: TokenB must be letters and digits only; {form}"
        )),
    );
    check(
        "slack://xoxb-123-456/general",
        Err(&format!("slack:// URL: bot and user tokens (xoxb-…, xoxp-…) are not supported, only incoming webhooks; {form}")),
    );
    check(
        "slack://A/B/C/d/e",
        Err(&format!("slack:// URL: too many path segments; {form}")),
    );
    check(
        "slack://A/B/C?color=red",
        Err("slack:// URL: unknown parameter `color`; accepted: channel"),
    );
}

#[test]
fn discord_webhooks() {
    check(
        "discord://123456789012345678/AbC-def_GHI",
        Ok(TargetUrl::Discord {
            webhook_url: secret("https://discord.com/api/webhooks/123456789012345678/AbC-def_GHI"),
        }),
    );
    check(
        "discord://bot@123/tok/",
        Ok(TargetUrl::Discord {
            webhook_url: secret("https://discord.com/api/webhooks/123/tok"),
        }),
    );
    let form = "expected discord://WebhookID/WebhookToken, from https://discord.com/api/webhooks/WebhookID/WebhookToken";
    check(
        "discord://123",
        Err(&format!(
            "discord:// URL: 1 path segments given, 2 needed; {form}"
        )),
    );
    check(
        "discord://abc/token",
        Err(&format!(
            "discord:// URL: WebhookID `abc` must be digits only; {form}"
        )),
    );
    check(
        "discord://123/to.ken",
        Err(&format!(
            "discord:// URL: WebhookToken must be letters, digits, `-` and `_` only; {form}"
        )),
    );
    check(
        "discord://123/token?avatar=no",
        Err("discord:// URL: unknown parameter `avatar`; accepted: none"),
    );
}

#[test]
fn teams_workflows() {
    check(
        "workflows://prod-161.westeurope.logic.azure.com:443/643e69f8/KODueb-_A",
        Ok(TargetUrl::Teams {
            webhook_url: secret("https://prod-161.westeurope.logic.azure.com/workflows/643e69f8/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=KODueb-_A"),
        }),
    );
    check(
        "workflow://host.example/abc/sig?pa=yes",
        Ok(TargetUrl::Teams {
            webhook_url: secret("https://host.example/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=2022-03-01-preview&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=sig"),
        }),
    );
    check(
        "workflows://host.example:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=XYZ",
        Ok(TargetUrl::Teams {
            webhook_url: secret("https://host.example/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=XYZ"),
        }),
    );
    let form = "expected workflows://host[:port]/WorkflowID/Signature, or the workflow's https:// URL with https:// replaced by workflows://";
    check(
        "workflows://host.example/workflows/abc/triggers/manual/paths/invoke",
        Err(&format!(
            "workflows:// URL: the `sig` parameter is missing; {form}"
        )),
    );
    check(
        "workflows://host.example/abc",
        Err(&format!(
            "workflows:// URL: 1 path segments given, 2 needed (WorkflowID and Signature); {form}"
        )),
    );
    check(
        "workflows://host.example/a.b/sig",
        Err(&format!(
            "workflows:// URL: WorkflowID must be letters, digits, `-` and `_` only; {form}"
        )),
    );
    check(
        "workflows://host.example/ab/s!g",
        Err(&format!(
            "workflows:// URL: Signature must be letters, digits, `-` and `_` only; {form}"
        )),
    );
    check(
        "workflows://host.example/ab/sig?x=1",
        Err("workflows:// URL: unknown parameter `x`; accepted: pa, ver"),
    );
}

#[test]
fn ntfy_servers() {
    let ntfy = |server: &str, topics: &[&str], auth: NtfyAuth| {
        Ok(TargetUrl::Ntfy {
            server: server.into(),
            topics: topics.iter().map(|topic| topic.to_string()).collect(),
            auth,
        })
    };
    check(
        "ntfy://alerts",
        ntfy("https://ntfy.sh", &["alerts"], NtfyAuth::None),
    );
    // Topics are case-sensitive: the host-position topic keeps its case.
    check(
        "ntfy://MyTopic_1",
        ntfy("https://ntfy.sh", &["MyTopic_1"], NtfyAuth::None),
    );
    check(
        "ntfys://alerts",
        ntfy("https://ntfy.sh", &["alerts"], NtfyAuth::None),
    );
    check(
        "ntfy://ntfy.local:8080/alerts/news",
        ntfy(
            "http://ntfy.local:8080",
            &["alerts", "news"],
            NtfyAuth::None,
        ),
    );
    check(
        "ntfys://phil:my%40pass@ntfy.example.com/alerts",
        ntfy(
            "https://ntfy.example.com",
            &["alerts"],
            NtfyAuth::Basic {
                user: "phil".into(),
                password: secret("my@pass"),
            },
        ),
    );
    check(
        "ntfys://tk_abc123@ntfy.example.com/alerts",
        ntfy(
            "https://ntfy.example.com",
            &["alerts"],
            NtfyAuth::Token(secret("tk_abc123")),
        ),
    );
    check(
        "ntfys://ntfy.example.com/alerts?token=tk_x",
        ntfy(
            "https://ntfy.example.com",
            &["alerts"],
            NtfyAuth::Token(secret("tk_x")),
        ),
    );
    let form = "expected ntfy://[user:password@]host[:port]/topic (http), ntfys://… (https), ntfy://tk_token@host/topic, or ntfy://topic for ntfy.sh";
    check(
        "ntfy://host.example/bad.topic",
        Err(&format!(
            "ntfy:// URL: topic `bad.topic` must be 1 to 64 letters, digits, `-` or `_`; {form}"
        )),
    );
    check(
        "ntfys://phil@host.example/alerts",
        Err(&format!(
            "ntfys:// URL: user `phil` has no password (access tokens start with `tk_`); {form}"
        )),
    );
    check(
        "ntfy://:pw@host.example/alerts",
        Err(&format!(
            "ntfy:// URL: a password is given without a user; {form}"
        )),
    );
    check(
        "ntfy://host.example:8080",
        Err(&format!("ntfy:// URL: the topic is missing; {form}")),
    );
    check(
        "ntfy://host.example/alerts?priority=5",
        Err("ntfy:// URL: unknown parameter `priority`; accepted: token"),
    );
}

#[test]
fn telegram_bots() {
    check(
        "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-1001234567890/newsroom_channel?topic=42",
        Ok(TargetUrl::Telegram {
            bot_token: secret("123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
            chat_ids: vec!["-1001234567890".into(), "@newsroom_channel".into()],
            thread_id: Some(42),
        }),
    );
    check(
        "tgram://bot123:abc/@news5",
        Ok(TargetUrl::Telegram {
            bot_token: secret("123:abc"),
            chat_ids: vec!["@news5".into()],
            thread_id: None,
        }),
    );
    let form = "expected tgram://BotToken/ChatID, e.g. tgram://123456789:AAHdqTcv…/-1001234567890";
    check(
        "tgram://",
        Err(&format!("tgram:// URL: the bot token is missing; {form}")),
    );
    check(
        "tgram://123:abc",
        Err(&format!("tgram:// URL: no chat id given: the URL needs the chat after the bot token, as tgram://BotToken/ChatID; {form}")),
    );
    check(
        "tgram://abc/123",
        Err(&format!("tgram:// URL: the bot token must look like 123456789:AAH… (digits, a colon, then letters, digits, `-`, `_`); {form}")),
    );
    check(
        "tgram://123:abc/x",
        Err(&format!("tgram:// URL: chat id `x` must be a number such as -1001234567890 or a @channelname; {form}")),
    );
    check(
        "tgram://123:abc/1?topic=general",
        Err(&format!(
            "tgram:// URL: topic `general` must be a number; {form}"
        )),
    );
    check(
        "tgram://123:abc/1?silent=yes",
        Err("tgram:// URL: unknown parameter `silent`; accepted: topic"),
    );
}

#[test]
fn email_servers() {
    check(
        "mailto://alerts:p%40ss@smtp.example.com?to=desk@example.com,ed@example.com",
        Ok(TargetUrl::Email(email(&[
            "desk@example.com",
            "ed@example.com",
        ]))),
    );
    check(
        "mailto://alerts:p%40ss@smtp.example.com/desk@example.com",
        Ok(TargetUrl::Email(email(&["desk@example.com"]))),
    );
    // No recipient: mail the sender.
    check(
        "mailto://alerts:p%40ss@smtp.example.com",
        Ok(TargetUrl::Email(email(&["alerts@smtp.example.com"]))),
    );
    let mut implicit = email(&["alerts@example.com"]);
    implicit.smtp_host = "mail.example.net".into();
    implicit.port = 2465;
    implicit.security = SmtpSecurity::ImplicitTls;
    implicit.user = Some("me@example.com".into());
    implicit.from = "alerts@example.com".into();
    implicit.from_name = Some("News Desk".into());
    check(
        "mailtos://me%40example.com:p%40ss@example.com:2465?smtp=mail.example.net&from=alerts@example.com&name=News%20Desk",
        Ok(TargetUrl::Email(implicit)),
    );
    let port = parse_target_url("mailtos://a:b@smtp.example.com");
    assert!(matches!(
        port,
        Ok(TargetUrl::Email(EmailTarget { port: 465, .. }))
    ));
    let form = "expected mailto://user:password@smtp.example.com[:port]?to=you@example.com&from=alerts@example.com (STARTTLS), or mailtos://… (implicit TLS)";
    check(
        "mailto://smtp.example.com?to=a@example.com",
        Err(&format!(
            "mailto:// URL: no sender: give ?from= or a user; {form}"
        )),
    );
    check(
        "mailto://a:b@smtp.example.com?to=not-an-address",
        Err(&format!(
            "mailto:// URL: to address `not-an-address` is not a valid email address; {form}"
        )),
    );
    check(
        "mailto://a:b@smtp.example.com?from=x<y>@example.com",
        Err(&format!(
            "mailto:// URL: from address `x<y>@example.com` is not a valid email address; {form}"
        )),
    );
    check(
        "mailto://a:b@smtp.example.com?mode=plain",
        Err(&format!("mailto:// URL: mode `plain` is not one of starttls, ssl (there is no plaintext mode); {form}")),
    );
    check(
        "mailto://a:b@smtp.example.com?subject=hi",
        Err("mailto:// URL: unknown parameter `subject`; accepted: to, from, name, cc, bcc, smtp, user, pass, mode"),
    );
}

#[test]
fn scheme_errors() {
    let schemes = "json://, jsons://, slack://, discord://, workflows://, ntfy://, ntfys://, tgram://, mailto://, mailtos://";
    check(
        "hooks.slack.com/services/x",
        Err(&format!(
            "target URL has no scheme: expected scheme://…, where scheme:// is one of {schemes}"
        )),
    );
    check(
        "://x",
        Err(&format!(
            "target URL has no scheme: expected scheme://…, where scheme:// is one of {schemes}"
        )),
    );
    check(
        "Pushover://x",
        Err(&format!(
            "unsupported target URL scheme `pushover://`: expected one of {schemes}"
        )),
    );
}

#[test]
fn telegram_endpoint() {
    assert_eq!(
        telegram_api_url(&secret("1:abc"), "sendMessage").expose(),
        "https://api.telegram.org/bot1:abc/sendMessage"
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let parsed = parse_target_url("tgram://123:SECRETTOKEN/1");
    let debug = format!("{parsed:?}");
    assert!(!debug.contains("SECRETTOKEN"), "{debug}");
    let error = parse_target_url("slack://T1/B-SECRET/C").map_err(|error| error.to_string());
    assert!(!format!("{error:?}").contains("SECRET"));
}

#[test]
fn kinds_with_native_urls() {
    let kind = |name: &str| match name.parse::<TargetKind>() {
        Ok(kind) => kind,
        Err(error) => panic!("{error}"),
    };
    let check_kind = |name: &str, input: &str, expected: Result<TargetUrl, &str>| {
        let got = parse_target(kind(name), input).map_err(|error| error.to_string());
        assert_eq!(got, expected.map_err(str::to_string), "{name} {input}");
    };
    let slack = Ok(TargetUrl::Slack {
        webhook_url: secret("https://hooks.slack.com/services/T1/B2/c3"),
        channel: None,
    });
    check_kind(
        "slack",
        "https://hooks.slack.com/services/T1/B2/c3",
        slack.clone(),
    );
    check_kind("slack", "slack://T1/B2/c3", slack);
    check_kind(
        "discord",
        "https://discordapp.com/api/webhooks/123/tok",
        Ok(TargetUrl::Discord {
            webhook_url: secret("https://discord.com/api/webhooks/123/tok"),
        }),
    );
    check_kind(
        "teams",
        "https://x.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1",
        Ok(TargetUrl::Teams {
            webhook_url: secret("https://x.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1"),
        }),
    );
    check_kind(
        "ntfy",
        "https://ntfy.example.com/alerts",
        Ok(TargetUrl::Ntfy {
            server: "https://ntfy.example.com".into(),
            topics: vec!["alerts".into()],
            auth: NtfyAuth::None,
        }),
    );
    check_kind(
        "webhook",
        "https://example.org/hook?a=1",
        Ok(TargetUrl::Json {
            url: secret("https://example.org/hook?a=1"),
            basic_auth: None,
            headers: vec![],
        }),
    );
    // receivers that speak a service's format elsewhere (Mattermost, a relay, a local test
    // receiver): used as written, like any URL in the config file
    check_kind(
        "slack",
        "https://chat.example.org/hooks/abc",
        Ok(TargetUrl::Slack {
            webhook_url: secret("https://chat.example.org/hooks/abc"),
            channel: None,
        }),
    );
    check_kind(
        "discord",
        "http://127.0.0.1:8080/api/webhooks/1/t",
        Ok(TargetUrl::Discord {
            webhook_url: secret("http://127.0.0.1:8080/api/webhooks/1/t"),
        }),
    );
    check_kind(
        "teams",
        "http://[::1]:9/relay",
        Ok(TargetUrl::Teams {
            webhook_url: secret("http://[::1]:9/relay"),
        }),
    );
    // but a known service's host that is not this kind's webhook is a mistake
    let slack_hint = "use https://hooks.slack.com/services/…, slack://TokenA/TokenB/TokenC, or the URL of a Slack-compatible receiver";
    check_kind(
        "slack",
        "https://discord.com/api/webhooks/1/t",
        Err(&format!(
            "this https:// URL does not fit target kind `slack`: {slack_hint}"
        )),
    );
    check_kind(
        "slack",
        "https://hooks.slack.com/workflows/T1/B2/c3",
        Err(&format!(
            "this https:// URL does not fit target kind `slack`: {slack_hint}"
        )),
    );
    check_kind(
        "slack",
        "discord://1/t",
        Err(&format!(
            "this discord:// URL does not fit target kind `slack`: {slack_hint}"
        )),
    );
    check_kind(
        "discord",
        "http://discord.com/api/webhooks/1/t",
        Err("this http:// URL does not fit target kind `discord`: use https://discord.com/api/webhooks/…, discord://WebhookID/WebhookToken, or the URL of a Discord-compatible receiver"),
    );
    check_kind(
        "teams",
        "https://prod.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=1",
        Err("this https:// URL does not fit target kind `teams`: use the workflow's https:// URL (with its sig), workflows://host/WorkflowID/Signature, or the URL of a compatible receiver"),
    );
    check_kind(
        "telegram",
        "https://api.telegram.org/bot1:a/sendMessage",
        Err("this https:// URL does not fit target kind `telegram`: use tgram://BotToken/ChatID"),
    );
    check_kind(
        "email",
        "https://mail.example.com",
        Err("this https:// URL does not fit target kind `email`: use mailto://… or mailtos://…"),
    );
    assert_eq!(
        "pager".parse::<TargetKind>().map_err(|error| error.to_string()),
        Err("unknown target kind `pager`: expected one of webhook, slack, discord, teams, ntfy, telegram, email".to_string())
    );
}
