//! `slack://TokenA/TokenB/TokenC[/#channel]`: a Slack incoming webhook, rebuilt as its
//! hooks.slack.com URL. Bot and user tokens (`xoxb-…`) are refused: only webhooks are supported.

use super::common::*;
use super::*;

pub(super) const SLACK_FORM: &str =
    "slack://TokenA/TokenB/TokenC, from https://hooks.slack.com/services/TokenA/TokenB/TokenC";

pub(super) fn parse(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "slack";
    let (path, query, fragment) = split_rest(rest);
    check_parameters(scheme, &query_pairs(query), &["channel"], "channel")?;
    // An optional `botname@` prefix (Apprise) names the poster; webhooks have their own name.
    let path = path.rsplit_once('@').map_or(path, |(_, after)| after);
    let parts = segments(path);
    if parts.first().is_some_and(|first| first.starts_with("xox")) {
        return Err(invalid(
            scheme,
            "bot and user tokens (xoxb-…, xoxp-…) are not supported, only incoming webhooks",
            SLACK_FORM,
        ));
    }
    if parts.len() < 3 {
        return Err(invalid(
            scheme,
            format!("{} of the 3 webhook tokens given", parts.len()),
            SLACK_FORM,
        ));
    }
    for (index, name) in ["TokenA", "TokenB", "TokenC"].iter().enumerate() {
        if !token_chars(&parts[index], &[]) {
            return Err(invalid(
                scheme,
                format!("{name} must be letters and digits only"),
                SLACK_FORM,
            ));
        }
    }
    if parts.len() > 4 {
        return Err(invalid(scheme, "too many path segments", SLACK_FORM));
    }
    let channel = parts
        .get(3)
        .cloned()
        .or_else(|| fragment.map(percent_decode))
        .or_else(|| {
            query_pairs(query)
                .into_iter()
                .find(|(key, _, _)| key == "channel")
                .map(|(_, value, _)| value)
        })
        .map(|channel| channel.trim_start_matches('#').to_string())
        .filter(|channel| !channel.is_empty());
    Ok(TargetUrl::Slack {
        webhook_url: Secret::new(format!(
            "https://hooks.slack.com/services/{}/{}/{}",
            parts[0], parts[1], parts[2]
        )),
        channel,
    })
}
