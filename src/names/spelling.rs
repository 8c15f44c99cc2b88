//! When two names are "the same name misspelt": the near-miss rule, shared by the name resolver
//! ([`super::Names`]) and the trace reader's column resolution (`trace::read`).
//!
//! A name `written` is a **near miss** of a name `known` when they differ, and either
//!
//! 1. they are equal once folded ([`fold`]: lower case, only letters and digits kept): they differ
//!    only by case, spaces or punctuation (`Chat` / `chat`, ` class` / `class`,
//!    `input-tokens` / `input_tokens`); or
//! 2. their folded forms are at most a few single-character edits apart (an insertion, a
//!    deletion, a substitution, or two neighbours swapped: `chta` / `chat`, `clasify` /
//!    `classify`, `eu-west-l` / `eu-west-1`): one edit when the shorter folded name has 3 to 7
//!    characters, two from 8 characters, none below 3 (two-letter names are too close to each
//!    other for an edit to say anything);
//!
//! unless the folded names differ only in their digits (`chat-v1` / `chat-v2`, `us-east-1` /
//! `us-east-2`, `gpt4` / `gpt40`): numbers tell versions and regions apart, so a different number
//! is a different name, not a slip.
//!
//! No IO and nothing of the rest of the crate: plain string functions.

/// The name with case, spaces and punctuation removed: ASCII letters lower-cased, letters and
/// digits (of any script) kept, everything else dropped.
pub fn fold(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Edits allowed between two folded names whose shorter one has `shorter` characters.
fn allowed_edits(shorter: usize) -> usize {
    match shorter {
        0..=2 => 0,
        3..=7 => 1,
        _ => 2,
    }
}

/// Whether `written` is a near miss of `known` (see the module documentation).
pub fn near_miss(written: &str, known: &str) -> bool {
    if written == known {
        return false;
    }
    let (a, b) = (fold(written), fold(known));
    if a == b {
        return true;
    }
    let digitless = |s: &str| s.chars().filter(|c| !c.is_numeric()).collect::<String>();
    if digitless(&a) == digitless(&b) {
        return false;
    }
    let shorter = a.chars().count().min(b.chars().count());
    edit_distance(&a, &b) <= allowed_edits(shorter)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each count one (so `chta` is one edit from `chat`, where plain
/// Levenshtein counts two).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the dynamic programme: two back (for swaps), the previous one, the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (written, known, near miss?) with the reason in the comment.
    #[test]
    fn near_miss_rule() {
        let cases = [
            // The typos.
            ("chta", "chat", true),           // two neighbours swapped
            ("clasify", "classify", true),    // one letter missing
            ("eu-west-l", "eu-west-1", true), // a letter for a digit
            // Case, spaces and punctuation only.
            ("Chat", "chat", true),
            (" class", "class", true),
            ("input-tokens", "input_tokens", true),
            ("ZH DOCS", "zh_docs", true),
            // Numbers tell names apart.
            ("chat-v2", "chat-v1", false),
            ("us-east-2", "us-east-1", false),
            ("gpt40", "gpt4", false),
            // Too far apart.
            ("vision", "chat", false),
            ("summarize", "chat", false),
            ("us-west-1", "us-east-1", false), // two edits in a name of 7 folded characters
            // Short names: one edit from 3 characters, none below.
            ("rag", "tag", true),
            ("qa", "qb", false),
            ("qa", "QA", true),
            // Long names take two edits.
            ("sumarise", "summarize", true),
            ("reasonnig", "reasoning", true),
            ("reasnx", "reasoning", false),
            // Equal is not a miss.
            ("chat", "chat", false),
        ];
        for (written, known, expected) in cases {
            assert_eq!(near_miss(written, known), expected, "near_miss({written:?}, {known:?})");
        }
    }

    #[test]
    fn fold_keeps_letters_and_digits_in_lower_case() {
        assert_eq!(fold(" Input-Tokens "), "inputtokens");
        assert_eq!(fold("timestamp (s)"), "timestamps");
        assert_eq!(fold("eu-west-1"), "euwest1");
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one() {
        assert_eq!(edit_distance("chta", "chat"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ca", "abc"), 3); // OSA, not unrestricted Damerau (2)
    }
}
