//! Length limits counted as JavaScript and the ingestion services count them: in UTF-16 units.

/// The longest prefix of `text` that is at most `max_units` UTF-16 units long, cut on a
/// character boundary (a surrogate pair is never split).
pub fn utf16_prefix(text: &str, max_units: usize) -> &str {
    // UTF-8 never takes fewer bytes than UTF-16 takes units, so a short string fits as it is.
    if text.len() <= max_units {
        return text;
    }
    let mut units = 0;
    for (at, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max_units {
            return text.get(..at).unwrap_or(text); // `at` is a char boundary
        }
    }
    text
}

/// Where `needle` first occurs in `text`, by bytes (core's `str::find(&str)` brings a two-way
/// searcher of ~1.5 kB into the .wasm; these searches are short and rare).
pub fn find(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes().windows(needle.len().max(1)).position(|w| w == needle.as_bytes())
}

/// Where `needle` last occurs in `text`, by bytes (see [`find`]).
pub fn rfind(text: &str, needle: &str) -> Option<usize> {
    text.as_bytes().windows(needle.len().max(1)).rposition(|w| w == needle.as_bytes())
}

/// A stable insertion sort: `greater(a, b)` says a sorts after b. Linear on the nearly sorted
/// inputs it gets (requeued batches, small tag sets), and it keeps core's sort code (~2 kB) out
/// of the .wasm.
pub fn insertion_sort_by<T>(v: &mut [T], greater: impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && greater(&v[j - 1], &v[j]) {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units_like_javascript() {
        assert_eq!(utf16_prefix("abcdef", 4), "abcd");
        assert_eq!(utf16_prefix("abc", 4), "abc");
        assert_eq!(utf16_prefix("éééé", 2), "éé", "one unit each, two bytes each");
        assert_eq!(utf16_prefix("😀😀😀", 4), "😀😀", "an emoji is two units");
        assert_eq!(utf16_prefix("😀😀😀", 3), "😀", "a surrogate pair is never split");
        assert_eq!(utf16_prefix("", 0), "");
        assert_eq!(utf16_prefix("a", 0), "");
    }

    #[test]
    fn byte_search_finds_what_str_find_finds() {
        for (text, needle) in [
            ("at f (x.js:1:2)", " ("),
            ("http://h/p", "://"),
            ("", "://"),
            ("a, b, c", ", "),
            ("é (", " ("),
            ("ab", "abc"),
        ] {
            assert_eq!(find(text, needle), text.find(needle), "{text:?} {needle:?}");
            assert_eq!(rfind(text, needle), text.rfind(needle), "{text:?} {needle:?}");
        }
    }
}
