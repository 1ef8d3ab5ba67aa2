//! `tgram://BotToken/ChatID[/ChatID…][?topic=N]`: a Telegram bot and the chats (numeric ids or
//! @channel names) it posts to. The Bot API endpoint is built from the token elsewhere
//! (`telegram_api_url`), since the token is part of its path.

use super::common::*;
use super::*;

pub(super) const TGRAM_FORM: &str =
    "tgram://BotToken/ChatID, e.g. tgram://123456789:AAHdqTcv…/-1001234567890";

pub(super) fn parse(rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let scheme = "tgram";
    let (path, query, _) = split_rest(rest);
    let pairs = query_pairs(query);
    check_parameters(scheme, &pairs, &["topic", "thread"], "topic")?;
    let mut parts = segments(path).into_iter();
    let Some(token) = parts.next() else {
        return Err(invalid(scheme, "the bot token is missing", TGRAM_FORM));
    };
    // Apprise accepts the token as BotFather prints it and with the API's `bot` prefix.
    let token = token.strip_prefix("bot").unwrap_or(&token).to_string();
    let valid_token = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.chars().all(|character| character.is_ascii_digit())
            && token_chars(secret, &['-', '_'])
    });
    if !valid_token {
        return Err(invalid(
            scheme,
            "the bot token must look like 123456789:AAH… (digits, a colon, then letters, digits, `-`, `_`)",
            TGRAM_FORM,
        ));
    }
    let chat_ids: Vec<String> = parts.collect();
    if chat_ids.is_empty() {
        return Err(invalid(scheme, "no chat id given: the URL needs the chat after the bot token, as tgram://BotToken/ChatID", TGRAM_FORM));
    }
    for chat in &chat_ids {
        let digits = chat.strip_prefix('-').unwrap_or(chat);
        let numeric =
            !digits.is_empty() && digits.chars().all(|character| character.is_ascii_digit());
        let username = chat.strip_prefix('@').unwrap_or(chat);
        let named = username.len() >= 5
            && username.starts_with(|character: char| character.is_ascii_alphabetic())
            && token_chars(username, &['_']);
        if !numeric && !named {
            return Err(invalid(
                scheme,
                format!(
                    "chat id `{chat}` must be a number such as -1001234567890 or a @channelname"
                ),
                TGRAM_FORM,
            ));
        }
    }
    let chat_ids = chat_ids
        .into_iter()
        .map(|chat| {
            // Channel usernames need their `@` in the API.
            if chat.starts_with(|character: char| character.is_ascii_alphabetic()) {
                format!("@{chat}")
            } else {
                chat
            }
        })
        .collect();
    let thread_id = match pairs
        .iter()
        .find(|(key, _, _)| key == "topic" || key == "thread")
    {
        Some((_, value, _)) => Some(value.parse::<i64>().map_err(|_| {
            invalid(
                scheme,
                format!("topic `{value}` must be a number"),
                TGRAM_FORM,
            )
        })?),
        None => None,
    };
    Ok(TargetUrl::Telegram {
        bot_token: Secret::new(token),
        chat_ids,
        thread_id,
    })
}
