//! `workflows://host/WorkflowID/Signature` (Microsoft Teams via Power Automate / Azure
//! workflows), or the workflow's full https URL with its scheme swapped, which must carry `sig`.

use super::common::*;
use super::*;

pub(super) const WORKFLOWS_FORM: &str = "workflows://host[:port]/WorkflowID/Signature, or the workflow's https:// URL with https:// replaced by workflows://";

pub(super) fn parse(scheme: &str, input: &str, rest: &str) -> Result<TargetUrl, TargetUrlError> {
    let parsed = parse_authority_url(scheme, input, WORKFLOWS_FORM)?;
    let parts = segments(parsed.path());
    let pairs = query_pairs(parsed.query());
    if parts.iter().any(|part| part == "workflows") {
        // The full workflow URL, scheme swapped: it must carry its signature.
        if !pairs
            .iter()
            .any(|(key, value, _)| key == "sig" && !value.is_empty())
        {
            return Err(invalid(
                scheme,
                "the `sig` parameter is missing",
                WORKFLOWS_FORM,
            ));
        }
        let url = http_endpoint(scheme, true, rest, WORKFLOWS_FORM)?;
        return Ok(TargetUrl::Teams {
            webhook_url: Secret::new(url.to_string()),
        });
    }
    check_parameters(
        scheme,
        &pairs,
        &["pa", "powerautomate", "ver", "api-version"],
        "pa, ver",
    )?;
    let [workflow, signature] = parts.as_slice() else {
        return Err(invalid(
            scheme,
            format!(
                "{} path segments given, 2 needed (WorkflowID and Signature)",
                parts.len()
            ),
            WORKFLOWS_FORM,
        ));
    };
    if !token_chars(workflow, &['-', '_']) {
        return Err(invalid(
            scheme,
            "WorkflowID must be letters, digits, `-` and `_` only",
            WORKFLOWS_FORM,
        ));
    }
    if !token_chars(signature, &['-', '_']) {
        return Err(invalid(
            scheme,
            "Signature must be letters, digits, `-` and `_` only",
            WORKFLOWS_FORM,
        ));
    }
    let power_automate = pairs.iter().any(|(key, value, _)| {
        (key == "pa" || key == "powerautomate") && matches!(value.as_str(), "yes" | "true" | "1")
    });
    let version = pairs
        .iter()
        .find(|(key, _, _)| key == "ver" || key == "api-version")
        .map(|(_, value, _)| value.clone())
        .unwrap_or_else(|| {
            if power_automate {
                "2022-03-01-preview"
            } else {
                "2016-06-01"
            }
            .to_string()
        });
    let prefix = if power_automate {
        "/powerautomate/automations/direct"
    } else {
        ""
    };
    let rest = format!(
        "{}{prefix}/workflows/{workflow}/triggers/manual/paths/invoke?api-version={version}&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={signature}",
        host_port(&parsed)
    );
    let url = http_endpoint(scheme, true, &rest, WORKFLOWS_FORM)?;
    Ok(TargetUrl::Teams {
        webhook_url: Secret::new(url.to_string()),
    })
}
