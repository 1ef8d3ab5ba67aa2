//! Repair of double-encoded UTF-8 in feed text: UTF-8 bytes once decoded as Windows-1252 and
//! encoded again ("CinÃ©ma" for "Cinéma"), as some feeds are stored.
//!
//! The repair is made only when it is certain: the *whole* text must encode back to
//! Windows-1252 without loss, those bytes must be valid UTF-8, and the result must differ and
//! hold fewer characters. (One allowance: a no-break space turned into a plain space after "Ã" or
//! "Â" is put back, when the text also shows an unambiguous double-encoded pair.) Clean text never qualifies — an "é" encodes to a lone byte 0xE9,
//! which is not valid UTF-8 on its own — so text that merely contains accented letters, or mixes
//! repaired and clean parts, is left exactly as it is. It does not guess other encodings
//! (Latin-1 read as KOI8-R and the like), and it does not touch the bytes before parsing: the
//! charset decoders own that.

use std::borrow::Cow;

use encoding_rs::WINDOWS_1252;

/// The text with double-encoded UTF-8 undone, or unchanged when the repair is not certain.
pub fn repair(text: &str) -> Cow<'_, str> {
    // ASCII cannot be mojibake; most text stops here without allocating.
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    // Every double-encoded non-ASCII character starts with one of these lead-byte letters
    // (U+00C2–U+00F4 as Windows-1252 reads bytes 0xC2–0xF4).
    if !text.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return Cow::Borrowed(text);
    }
    if let Some(repaired) = round_trip(text) {
        return Cow::Owned(repaired);
    }
    // A no-break space (the second byte of "à", 0xC3 0xA0, and of U+00A0 itself) is often turned
    // into a plain space on the way: "Ã Paris", "crucheÂ :". Put it back and try once more — only
    // when the text holds an unambiguous double-encoded pair elsewhere, so a clean "IRMÃ E"
    // (Portuguese capitals) is never touched.
    if has_double_encoded_pair(text) {
        // "à " is 0xC3 0xA0 0x20: the space after it is the text's own.
        let mut restored = text.replace("Ã ", "Ã\u{a0} ").replace("Â ", "Â\u{a0}");
        if restored.ends_with('Â') {
            restored.push('\u{a0}');
        }
        if restored != text {
            if let Some(repaired) = round_trip(&restored) {
                return Cow::Owned(repaired);
            }
        }
    }
    Cow::Borrowed(text)
}

/// The text's Windows-1252 bytes read as UTF-8, when that is lossless and changes something.
fn round_trip(text: &str) -> Option<String> {
    let (bytes, _, lossy) = WINDOWS_1252.encode(text);
    if lossy {
        return None;
    }
    let repaired = std::str::from_utf8(&bytes).ok()?;
    (repaired != text && repaired.chars().count() < text.chars().count())
        .then(|| repaired.to_string())
}

/// A lead letter (Ã, Â, â, Ð, Ñ, …) followed by a character Windows-1252 uses for a UTF-8
/// continuation byte (0x80–0xBF): the signature of double encoding, absent from normal text.
fn has_double_encoded_pair(text: &str) -> bool {
    let mut previous = None;
    for c in text.chars() {
        if let Some(lead) = previous {
            if ('\u{c2}'..='\u{f4}').contains(&lead) && is_continuation(c) {
                return true;
            }
        }
        previous = Some(c);
    }
    false
}

fn is_continuation(c: char) -> bool {
    let mut buffer = [0u8; 4];
    let (bytes, _, lossy) = WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
    !lossy && bytes.len() == 1 && (0x80..=0xBF).contains(&bytes[0])
}

/// [`repair`] for an optional owned field.
pub fn repair_field(field: &mut Option<String>) {
    if let Some(text) = field {
        if let Cow::Owned(repaired) = repair(text) {
            *text = repaired;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(repair(input), expected, "input {input:?}");
    }

    #[test]
    fn double_encoded_text_is_repaired() {
        check("ActualitÃ©s", "Actualités");
        check(
            "Culture : CinÃ©ma, thÃ©Ã¢tre, arts, expositions, musique et tÃ©lÃ©vision",
            "Culture : Cinéma, théâtre, arts, expositions, musique et télévision",
        );
        check(
            "Â«Espace CabuÂ» va Ãªtre inaugurÃ©",
            "«Espace Cabu» va être inauguré",
        );
        check("itâ€™s", "it’s");
        // the no-break space of "à" lost on the way
        check(
            "EnchÃ¨res de fÃªtes Ã Paris et Ã Marrakech",
            "Enchères de fêtes à Paris et à Marrakech",
        );
        check(
            "La crucheÂ : une satire amÃ¨re",
            "La cruche\u{a0}: une satire amère",
        );
        check("sauvÃ© par un funambuleÂ", "sauvé par un funambule\u{a0}");
    }

    #[test]
    fn clean_text_is_never_touched() {
        check("Actualités", "Actualités");
        check("plain ascii", "plain ascii");
        check("Ça va, déjà vu — «oui»", "Ça va, déjà vu — «oui»");
        check("Москва", "Москва");
        check("東京", "東京");
        // an accented capital next to a symbol that happens to form a UTF-8 pair stays when the
        // rest of the text does not round-trip
        check("Ã© and é", "Ã© and é");
        check("Ã", "Ã");
        // Portuguese capitals: "Ã " with nothing double-encoded around it
        check("IRMÃ E PAI", "IRMÃ E PAI");
        // a real apostrophe next to mojibake: the whole text does not round-trip, left alone
        check(
            "Prachanda’s â€˜secretâ€™ meet",
            "Prachanda’s â€˜secretâ€™ meet",
        );
    }
}
