//! `discord://WebhookID/WebhookToken`: a Discord webhook, rebuilt as its discord.com URL.

use super::common::*;
use super::*;

pub(super) const DISCORD_FORM: &str = "discord://WebhookID/WebhookToken, from https://discord.com/api/webhooks/WebhookID/WebhookToken";

pub(super) fn parse(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "discord";
    let (path, query, _) = split_rest(rest);
    check_parameters(scheme, &query_pairs(query), &[], "none")?;
    let path = path.rsplit_once('@').map_or(path, |(_, after)| after);
    let parts = segments(path);
    let [id, token] = parts.as_slice() else {
        return Err(invalid(
            scheme,
            format!("{} path segments given, 2 needed", parts.len()),
            DISCORD_FORM,
        ));
    };
    if !id.chars().all(|character| character.is_ascii_digit()) || id.is_empty() {
        return Err(invalid(
            scheme,
            format!("WebhookID `{id}` must be digits only"),
            DISCORD_FORM,
        ));
    }
    if !token_chars(token, &['-', '_']) {
        return Err(invalid(
            scheme,
            "WebhookToken must be letters, digits, `-` and `_` only",
            DISCORD_FORM,
        ));
    }
    Ok(TargetUrl::Discord {
        webhook_url: Secret::new(format!("https://discord.com/api/webhooks/{id}/{token}")),
    })
}
