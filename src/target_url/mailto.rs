//! `mailto://` (STARTTLS) and `mailtos://` (implicit TLS): an SMTP server, login, sender and
//! recipients. Addresses are checked for shape only; there is no plaintext mode in URL form.

use super::common::*;
use super::*;

pub(super) const MAILTO_FORM: &str = "mailto://user:password@smtp.example.com[:port]?to=you@example.com&from=alerts@example.com (STARTTLS), or mailtos://… (implicit TLS)";

/// A plausible single mailbox address: `local@domain`, no spaces, brackets or controls.
pub fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|character| {
            character.is_whitespace()
                || character.is_control()
                || "<>,;\"()[]\\".contains(character)
        })
}

pub(super) fn addresses(
    scheme: &str,
    values: &[String],
    part: &str,
) -> Result<Vec<String>, TargetUrlError> {
    let mut out = Vec::new();
    for value in values {
        for address in value
            .split([',', ' '])
            .filter(|address| !address.is_empty())
        {
            if !valid_address(address) {
                return Err(invalid(
                    scheme,
                    format!("{part} address `{address}` is not a valid email address"),
                    MAILTO_FORM,
                ));
            }
            out.push(address.to_string());
        }
    }
    Ok(out)
}

pub(super) fn parse(scheme: &str, input: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, MAILTO_FORM)?;
    let pairs = query_pairs(parsed.query());
    check_parameters(
        scheme,
        &pairs,
        &[
            "to", "from", "name", "cc", "bcc", "smtp", "user", "pass", "mode",
        ],
        "to, from, name, cc, bcc, smtp, user, pass, mode",
    )?;
    let all = |name: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(key, _, _)| key == name)
            .map(|(_, value, _)| value.clone())
            .collect()
    };
    let last = |name: &str| all(name).pop().filter(|value| !value.is_empty());

    let (url_user, url_password) = user_password(&parsed);
    let user = last("user").or(url_user);
    let password = last("pass").map(Secret::new).or(url_password);
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let smtp_host = last("smtp").unwrap_or_else(|| host.clone());
    // Validate the SMTP host with the URL crate's host rules.
    http_endpoint(scheme, false, &smtp_host, MAILTO_FORM)?;

    let mut security = if scheme == "mailtos" {
        SmtpSecurity::ImplicitTls
    } else {
        SmtpSecurity::StartTls
    };
    if let Some(mode) = last("mode") {
        security = match mode.to_ascii_lowercase().as_str() {
            "starttls" => SmtpSecurity::StartTls,
            "ssl" | "tls" => SmtpSecurity::ImplicitTls,
            other => {
                return Err(invalid(
                    scheme,
                    format!(
                        "mode `{other}` is not one of starttls, ssl (there is no plaintext mode)"
                    ),
                    MAILTO_FORM,
                ))
            }
        };
    }
    let port = parsed.port().unwrap_or(match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::ImplicitTls => 465,
        SmtpSecurity::Plaintext => 25,
    });

    let from = match last("from") {
        Some(from) => from,
        None => match &user {
            Some(user) if user.contains('@') => user.clone(),
            Some(user) => format!("{user}@{host}"),
            None => {
                return Err(invalid(
                    scheme,
                    "no sender: give ?from= or a user",
                    MAILTO_FORM,
                ))
            }
        },
    };
    let from = addresses(scheme, &[from], "from")?
        .into_iter()
        .next()
        .ok_or_else(|| invalid(scheme, "the from address is empty", MAILTO_FORM))?;
    let mut to_values = all("to");
    to_values.extend(segments(parsed.path()));
    let mut to = addresses(scheme, &to_values, "to")?;
    if to.is_empty() {
        // Apprise's default: mail the sender, the usual "notify myself" setup.
        to.push(from.clone());
    }
    Ok(TargetUrl::Email(EmailTarget {
        smtp_host,
        port,
        security,
        user,
        password,
        from,
        from_name: last("name"),
        to,
        cc: addresses(scheme, &all("cc"), "cc")?,
        bcc: addresses(scheme, &all("bcc"), "bcc")?,
    }))
}
