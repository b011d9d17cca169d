//! Caption and query cleaning: the reference rule (InstaCities1M, Gomez et al. 2018).
//!
//! 0. Unicode normalisation (webly's addition, not in the reference): the text is put in NFKC
//!    (compatibility forms: fullwidth `＃ｓｎｏｗ` -> `#snow`, ligatures `ﬁ` -> `fi`), then
//!    accents are folded (canonical decomposition, combining marks removed: `café` and
//!    `cafe\u{301}` -> `cafe`), and the few Latin letters without a decomposition are spelled
//!    out ([`LATIN_FOLDS`]: `ß` -> `ss`, `ø` -> `o`). So one visible word is one token however
//!    it was typed or composed. The reference deleted every non-ASCII character here instead
//!    (`café` -> `caf`, `＃snow＃ski` -> `snowski`).
//! 1. `#` becomes a space, so hashtag words are kept (`#snow#ski` -> `snow ski`).
//! 2. Any Unicode whitespace (tab, newline, ...) is a space. Every other character that is not an
//!    ASCII letter, digit or space is *deleted*, not replaced by a space, as the reference's
//!    character filter did: `don't` -> `dont`, `sun☀️beach` -> `sunbeach`, `café` -> `caf`.
//! 3. gensim's `simple_preprocess`: lowercase; a token is a maximal run of ASCII *letters*
//!    (gensim's tokenizer matches alphabetic runs, so digits split tokens and are dropped:
//!    `car2go` -> `car`, `go`; `2017` -> nothing); tokens of 2 to 15 characters are kept.
//! 4. English stopwords ([`STOPWORDS`], NLTK's list; its entries with an apostrophe are matched
//!    without it, since step 2 removed apostrophes: `don't` -> `dont`) and the reference's extra
//!    list ([`EXTRA_STOPWORDS`]) are dropped.
//! 5. No stemming.
//!
//! Queries use the same function.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Latin letters that have no canonical decomposition, folded to ASCII like accented letters
/// (the common cases of Unicode's and ICU's Latin-ASCII transliteration).
pub const LATIN_FOLDS: &[(char, &str)] = &[
    ('ß', "ss"),
    ('æ', "ae"),
    ('Æ', "AE"),
    ('œ', "oe"),
    ('Œ', "OE"),
    ('ø', "o"),
    ('Ø', "O"),
    ('ł', "l"),
    ('Ł', "L"),
    ('đ', "d"),
    ('Đ', "D"),
    ('ð', "d"),
    ('Ð', "D"),
    ('þ', "th"),
    ('Þ', "TH"),
    ('ı', "i"),
];

/// Shortest token kept (gensim `simple_preprocess` `min_len`).
pub const MIN_TOKEN_LEN: usize = 2;
/// Longest token kept (gensim `simple_preprocess` `max_len`).
pub const MAX_TOKEN_LEN: usize = 15;

/// NLTK's English stopword list (179 words), verbatim.
pub const STOPWORDS: &[&str] = &[
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "you're",
    "you've",
    "you'll",
    "you'd",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "she's",
    "her",
    "hers",
    "herself",
    "it",
    "it's",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "that'll",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "don't",
    "should",
    "should've",
    "now",
    "d",
    "ll",
    "m",
    "o",
    "re",
    "ve",
    "y",
    "ain",
    "aren",
    "aren't",
    "couldn",
    "couldn't",
    "didn",
    "didn't",
    "doesn",
    "doesn't",
    "hadn",
    "hadn't",
    "hasn",
    "hasn't",
    "haven",
    "haven't",
    "isn",
    "isn't",
    "ma",
    "mightn",
    "mightn't",
    "mustn",
    "mustn't",
    "needn",
    "needn't",
    "shan",
    "shan't",
    "shouldn",
    "shouldn't",
    "wasn",
    "wasn't",
    "weren",
    "weren't",
    "won",
    "won't",
    "wouldn",
    "wouldn't",
];

/// The reference's own additions to the stopword list.
pub const EXTRA_STOPWORDS: &[&str] = &[
    "rt", "http", "t", "gt", "co", "s", "https", "tweet", "markars_", "photo", "pictur", "picture",
    "say", "much", "now", "blog",
];

fn stopwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        STOPWORDS
            .iter()
            .chain(EXTRA_STOPWORDS)
            .map(|w| w.chars().filter(|c| c.is_ascii_alphanumeric()).collect())
            .collect()
    })
}

/// True if `token` (already cleaned) is a stopword.
pub fn is_stopword(token: &str) -> bool {
    stopwords().contains(token)
}

/// Step 0 of [`clean`]: NFKC, then accents folded (see the module docs). ASCII text is returned
/// as it is (it is already in that form).
pub fn normalize_unicode(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().nfd().filter(|&c| !is_combining_mark(c)) {
        match LATIN_FOLDS.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Cleans a caption or query into tokens by the reference rule, after Unicode normalisation
/// (see the module docs).
pub fn clean(text: &str) -> Vec<String> {
    let text = normalize_unicode(text);
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            current.push(c.to_ascii_lowercase());
        } else if c == '#' || c.is_whitespace() || c.is_ascii_digit() {
            flush(&mut current, &mut tokens);
        }
        // Anything else is deleted without splitting the token.
    }
    flush(&mut current, &mut tokens);
    tokens
}

fn flush(current: &mut String, tokens: &mut Vec<String>) {
    let len = current.len();
    if (MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&len) && !is_stopword(current) {
        tokens.push(std::mem::take(current));
    } else {
        current.clear();
    }
}

/// The cleaned words ([`clean`]) of `captions` that occur at least `min_count` times in all,
/// sorted: the vocabulary a caption set supports (the words `webly tag` may answer).
pub fn caption_vocabulary<'a>(
    captions: impl IntoIterator<Item = &'a str>,
    min_count: usize,
) -> Vec<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for caption in captions {
        for w in clean(caption) {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut words: Vec<String> = counts
        .into_iter()
        .filter(|(_, c)| *c >= min_count)
        .map(|(w, _)| w)
        .collect();
    words.sort_unstable();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_kept_as_words() {
        assert_eq!(clean("#snow#Ski trip"), ["snow", "ski", "trip"]);
    }

    #[test]
    fn removed_characters_do_not_split() {
        assert_eq!(clean("Tom's stop"), ["toms", "stop"]);
        assert_eq!(clean("don't"), Vec::<String>::new()); // "dont" is NLTK's "don't"
        assert_eq!(clean("sun☀️beach!"), ["sunbeach"]);
    }

    #[test]
    fn unicode_is_normalised_before_the_ascii_filter() {
        // Fullwidth number sign and letters (East Asian input methods): NFKC.
        assert_eq!(clean("＃snow＃ski"), ["snow", "ski"]);
        assert_eq!(clean("＃ｓｎｏｗ"), ["snow"]);
        // Composed and decomposed accents give one token.
        assert_eq!(clean("café"), ["cafe"]);
        assert_eq!(clean("cafe\u{301}"), ["cafe"]);
        assert_eq!(clean("Ménage À TROIS"), ["menage", "trois"]);
        // Ligatures and letters without a decomposition.
        assert_eq!(clean("ﬁsh straße Øresund"), ["fish", "strasse", "oresund"]);
        // A byte-order mark is not a letter and splits nothing.
        assert_eq!(clean("\u{feff}snow"), ["snow"]);
        assert_eq!(normalize_unicode("plain ascii"), "plain ascii");
    }

    #[test]
    fn digits_split_and_vanish_like_gensim() {
        assert_eq!(clean("car2go 2017 nyc"), ["car", "go", "nyc"]);
    }

    #[test]
    fn length_bounds_and_whitespace() {
        assert_eq!(
            clean("a ab\tabcdefghijklmno\nabcdefghijklmnop"),
            ["ab", "abcdefghijklmno"]
        );
    }

    #[test]
    fn stopwords_and_extra_list_dropped() {
        assert_eq!(
            clean("The dog and I, RT http photo of my picture with Tweet now blog"),
            ["dog"]
        );
        assert_eq!(clean("we'll shouldn't you're"), ["well"]);
        assert!(clean("").is_empty());
    }

    #[test]
    fn stopword_list_is_nltk_sized() {
        assert_eq!(STOPWORDS.len(), 179);
    }

    #[test]
    fn caption_vocabulary_counts_cleaned_words_across_captions() {
        let captions = ["Snow in #London", "london SNOW day", "a day at the beach"];
        assert_eq!(
            caption_vocabulary(captions, 2),
            vec!["day".to_string(), "london".to_string(), "snow".to_string()]
        );
        assert!(caption_vocabulary(captions, 3).is_empty());
        assert!(caption_vocabulary(captions, 1).contains(&"beach".to_string()));
    }
}
