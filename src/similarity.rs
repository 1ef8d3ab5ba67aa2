//! Near-duplicate detection of article bodies: the same wire story (AFP, Reuters) carried by many
//! outlets, each wrapping it in its own boilerplate and small edits. A 64-bit SimHash over word
//! 4-shingles summarises a body; two bodies whose fingerprints differ in at most
//! [`NEAR_DUPLICATE_BITS`] bits are the same story.
//!
//! Why SimHash: one u64 per alert is cheap to store and index (the eight 8-bit bands below make
//! the lookup an indexed query). Unrelated texts land about 32 bits apart (binomial, σ = 4), and
//! so do different articles on one topic, since they share few 4-word shingles; the chance of
//! two unrelated bodies within 7 bits is below 10⁻⁷. Web-scale deduplication (Manku, Jain, Das
//! Sarma, WWW 2007) uses 3 bits, but news wrapping (datelines, "read more" lines, edits) moves a
//! short story 4–6 bits, so 7 is the threshold here; the tests pin both sides.
//! Short bodies (under [`MIN_WORDS`] words) get no fingerprint: a teaser or a one-line brief says
//! too little to call two articles the same. Pure: no I/O, no clock.

use std::hash::Hasher;

/// Fingerprints at most this many bits apart are near-duplicates.
pub const NEAR_DUPLICATE_BITS: u32 = 7;

/// Bodies shorter than this (in words) are never called duplicates.
pub const MIN_WORDS: usize = 60;

const SHINGLE: usize = 4;

/// The SimHash of a body, or `None` for a body too short to judge.
pub fn fingerprint(body: &str) -> Option<u64> {
    let words: Vec<String> = body
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.len() < MIN_WORDS {
        return None;
    }
    let mut weights = [0i32; 64];
    for shingle in words.windows(SHINGLE) {
        let hash = stable_hash(shingle);
        for (bit, weight) in weights.iter_mut().enumerate() {
            if hash >> bit & 1 == 1 {
                *weight += 1;
            } else {
                *weight -= 1;
            }
        }
    }
    let mut fingerprint = 0u64;
    for (bit, weight) in weights.iter().enumerate() {
        if *weight > 0 {
            fingerprint |= 1 << bit;
        }
    }
    Some(fingerprint)
}

/// A hash that is the same on every run and machine (fingerprints are stored): FNV-1a.
fn stable_hash(shingle: &[String]) -> u64 {
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    for word in shingle {
        // bytes plus a separator, not `Hash`, whose byte stream std does not promise to keep
        hasher.write(word.as_bytes());
        hasher.write(&[0xff]);
    }
    // FNV mixes the high bits poorly; a final avalanche spreads every input bit over all 64
    let mut value = hasher.0;
    value ^= value >> 33;
    value = value.wrapping_mul(0xff51_afd7_ed55_8ccd);
    value ^= value >> 33;
    value = value.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    value ^ (value >> 33)
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

pub fn is_near_duplicate(a: u64, b: u64) -> bool {
    distance(a, b) <= NEAR_DUPLICATE_BITS
}

/// The eight 8-bit bands of a fingerprint. Two fingerprints within 7 bits share at least one
/// band exactly (pigeonhole: 7 differing bits cannot touch all 8 bands), so an equality lookup
/// on the bands finds every candidate.
pub fn bands(fingerprint: u64) -> [i64; 8] {
    [0, 1, 2, 3, 4, 5, 6, 7].map(|band| ((fingerprint >> (band * 8)) & 0xff) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "President Vladimir Putin will visit China this week at the invitation of his Chinese counterpart Xi Jinping, the Kremlin announced Tuesday, in the Russian leader's first trip abroad since being sworn into his fifth term. The two leaders will discuss a wide range of issues concerning their comprehensive partnership and strategic cooperation, identify key areas for further development of Russian-Chinese practical cooperation, and exchange views in detail on the most pressing international and regional issues, the Kremlin said in a statement. Putin will be in Beijing from Thursday to Friday, it added, making the visit the Russian leader's second trip to China in just over six months. Following the talks, the heads of state will sign a joint statement and a number of bilateral documents, the Kremlin said.";

    const OTHER_STORY: &str = "Moscow has looked to China as a crucial economic lifeline since the West hit Russia with unprecedented sanctions over the invasion of Ukraine. Meanwhile, China has benefited from cheap Russian energy imports and access to vast natural resources, including steady gas shipments via the Power of Siberia pipeline. But their close economic partnership has come under close scrutiny in the West, with the United States threatening to sanction overseas banks and companies that work with Moscow. Analysts say the trade figures for the first quarter show a slowdown as Chinese banks grow wary of secondary sanctions, and several regional lenders have stopped accepting payments from Russian firms altogether.";

    #[test]
    fn the_same_story_in_other_wrapping_is_a_near_duplicate() {
        let original = fingerprint(STORY).unwrap();
        let wrapped = fingerprint(&format!(
            "MOSCOW (AFP) — {STORY} Read more: our coverage of Russia. Subscribe to our newsletter."
        ))
        .unwrap();
        let edited = fingerprint(
            &STORY
                .replace("this week", "on Thursday")
                .replace("Tuesday", "on Tuesday"),
        )
        .unwrap();
        assert!(
            is_near_duplicate(original, wrapped),
            "distance {}",
            distance(original, wrapped)
        );
        assert!(
            is_near_duplicate(original, edited),
            "distance {}",
            distance(original, edited)
        );
    }

    #[test]
    fn different_stories_on_the_same_topic_are_not() {
        let story = fingerprint(STORY).unwrap();
        let other = fingerprint(OTHER_STORY).unwrap();
        assert!(
            !is_near_duplicate(story, other),
            "distance {}",
            distance(story, other)
        );
        assert!(distance(story, other) > 2 * NEAR_DUPLICATE_BITS);
    }

    #[test]
    fn short_bodies_get_no_fingerprint() {
        assert_eq!(
            fingerprint("Putin to visit China. Details to follow."),
            None
        );
    }

    #[test]
    fn near_duplicates_share_a_band() {
        let a = fingerprint(STORY).unwrap();
        for flips in [
            0b1u64,
            0b101 << 14,
            1 << 63 | 1 << 55 | 1 << 47 | 1 << 39 | 1 << 31 | 1 << 23 | 1 << 15,
        ] {
            let b = a ^ flips;
            let (x, y) = (bands(a), bands(b));
            assert!(x.iter().zip(&y).any(|(p, q)| p == q));
        }
    }

    #[test]
    fn fingerprints_are_stable_across_runs() {
        // stored in the database: a change of hash function is a migration
        assert_eq!(fingerprint(STORY), fingerprint(STORY));
        assert_eq!(fingerprint(STORY).map(|f| f.count_ones() > 10), Some(true));
    }
}
