//! Tags as OpenCensus defines them, and the interned tag sets that measurements are recorded against.
//!
//! A tag key is 1 to 255 printable ASCII characters, a value 0 to 255. A tag set is interned
//! once into a small integer id, so recording against it later moves no strings.

/// The longest tag key or value, in characters.
pub const MAX_TAG_LENGTH: usize = 255;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    EmptyKey,
    TooLong,
    /// A character outside printable ASCII (0x20..=0x7E).
    NotPrintable,
    /// The client already holds as many distinct tag sets as it may.
    TooManyTagSets,
}

impl core::fmt::Display for TagError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TagError::EmptyKey => "tag keys must not be empty",
            TagError::TooLong => "tag keys and values are at most 255 characters",
            TagError::NotPrintable => "tag keys and values must be printable ASCII",
            TagError::TooManyTagSets => "too many distinct tag sets",
        })
    }
}

fn printable(text: &str) -> Result<(), TagError> {
    if text.len() > MAX_TAG_LENGTH {
        return Err(TagError::TooLong);
    }
    if text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(TagError::NotPrintable)
    }
}

pub fn validate_key(key: &str) -> Result<(), TagError> {
    if key.is_empty() {
        return Err(TagError::EmptyKey);
    }
    printable(key)
}

pub fn validate_value(value: &str) -> Result<(), TagError> {
    printable(value)
}

/// The id of the empty tag set, which always exists.
pub const EMPTY_TAG_SET: u32 = 0;

/// Interned tag sets: sorted by key, one value per key (the last given wins).
pub struct TagSets {
    sets: Vec<Vec<(String, String)>>,
    /// The ids ordered by their sets' contents, for a binary search (no hash map: hashbrown and
    /// SipHash would add ~4 kB to the .wasm for this one lookup, which is off the hot path).
    by_content: Vec<u32>,
    max_sets: usize,
}

impl TagSets {
    pub fn new(max_sets: usize) -> TagSets {
        TagSets { sets: vec![Vec::new()], by_content: vec![EMPTY_TAG_SET], max_sets: max_sets.max(1) }
    }

    /// Validates and interns `pairs`, returning the set's id.
    pub fn intern(&mut self, mut pairs: Vec<(String, String)>) -> Result<u32, TagError> {
        for (key, value) in &pairs {
            validate_key(key)?;
            validate_value(value)?;
        }
        // Stable sort keeps the given order among equal keys, so keeping the last wins.
        crate::text::insertion_sort_by(&mut pairs, |a, b| a.0 > b.0);
        let mut unique: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match unique.last_mut() {
                Some(last) if last.0 == pair.0 => *last = pair,
                _ => unique.push(pair),
            }
        }
        let sets = &self.sets;
        let at = match self.by_content.binary_search_by(|&id| sets[id as usize].cmp(&unique)) {
            Ok(at) => return Ok(self.by_content[at]),
            Err(at) => at,
        };
        if self.sets.len() >= self.max_sets {
            return Err(TagError::TooManyTagSets);
        }
        let id = self.sets.len() as u32;
        self.by_content.insert(at, id);
        self.sets.push(unique);
        Ok(id)
    }

    pub fn get(&self, id: u32) -> Option<&[(String, String)]> {
        self.sets.get(id as usize).map(Vec::as_slice)
    }

    /// The value of `key` in set `id`.
    pub fn value(&self, id: u32, key: &str) -> Option<&str> {
        let set = self.get(id)?;
        set.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok().map(|i| set[i].1.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn validation_follows_opencensus() {
        assert_eq!(validate_key(""), Err(TagError::EmptyKey));
        assert_eq!(validate_key(&"k".repeat(255)), Ok(()));
        assert_eq!(validate_key(&"k".repeat(256)), Err(TagError::TooLong));
        assert_eq!(validate_value(""), Ok(()));
        assert_eq!(validate_value("a b~!"), Ok(()));
        assert_eq!(validate_value("tab\there"), Err(TagError::NotPrintable));
        assert_eq!(validate_value("é"), Err(TagError::NotPrintable));
        assert_eq!(validate_key("del\u{7f}"), Err(TagError::NotPrintable));
    }

    #[test]
    fn sets_are_interned_regardless_of_order_and_the_last_value_wins() {
        let mut sets = TagSets::new(10);
        let a = sets.intern(pairs(&[("b", "2"), ("a", "1")])).unwrap();
        let b = sets.intern(pairs(&[("a", "1"), ("b", "2")])).unwrap();
        let c = sets.intern(pairs(&[("a", "0"), ("b", "2"), ("a", "1")])).unwrap();
        assert_eq!((a, b, c), (1, 1, 1));
        assert_eq!(sets.value(a, "a"), Some("1"));
        assert_eq!(sets.value(a, "z"), None);
        assert_eq!(sets.intern(Vec::new()), Ok(EMPTY_TAG_SET));
    }

    #[test]
    fn invalid_tags_and_the_cap_are_errors() {
        let mut sets = TagSets::new(2);
        assert_eq!(sets.intern(pairs(&[("", "v")])), Err(TagError::EmptyKey));
        assert_eq!(sets.intern(pairs(&[("k", "1")])), Ok(1));
        assert_eq!(sets.intern(pairs(&[("k", "2")])), Err(TagError::TooManyTagSets));
        assert_eq!(sets.intern(pairs(&[("k", "1")])), Ok(1), "known sets still resolve at the cap");
    }

    #[test]
    fn many_sets_intern_once_each_in_any_order() {
        let mut sets = TagSets::new(1000);
        let mut ids = Vec::new();
        // Interleaved so that later sets sort before, between and after earlier ones.
        for i in [5, 1, 9, 3, 7, 0, 8, 2, 6, 4] {
            let id = sets.intern(pairs(&[("k", &i.to_string()), ("a", "x")])).unwrap();
            ids.push((i, id));
        }
        assert_eq!(sets.intern(Vec::new()).unwrap(), EMPTY_TAG_SET);
        for (i, id) in &ids {
            assert_eq!(sets.intern(pairs(&[("a", "x"), ("k", &i.to_string())])).unwrap(), *id, "set {i}");
            assert_eq!(sets.value(*id, "k"), Some(i.to_string().as_str()));
        }
        let distinct: std::collections::BTreeSet<u32> = ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(distinct.len(), 10);
    }
}
