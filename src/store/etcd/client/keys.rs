//! Which keys a prefix selects: etcd reads and deletes key ranges, not
//! prefixes.

/// The key and range end that select every key starting with `prefix`: the
/// range end is the prefix "plus one" (trailing 0xff bytes dropped, the last
/// other byte incremented), and "\0" for both means every key.
pub fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (prefix.to_vec(), end);
        }
    }
    // Empty, or all 0xff: no key is "greater" than every key under it, so the
    // range runs to the end of the keyspace ("\0" as range_end means that).
    let key = if prefix.is_empty() {
        vec![0]
    } else {
        prefix.to_vec()
    };
    (key, vec![0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefix_range_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_range(b"a/"), (b"a/".to_vec(), b"a0".to_vec()));
        assert_eq!(prefix_range(b"a\xff"), (b"a\xff".to_vec(), b"b".to_vec()));
        assert_eq!(
            prefix_range(b"a\xfe\xff\xff"),
            (b"a\xfe\xff\xff".to_vec(), b"a\xff".to_vec())
        );
        assert_eq!(prefix_range(b"\xff\xff"), (b"\xff\xff".to_vec(), vec![0]));
        assert_eq!(prefix_range(b""), (vec![0], vec![0]));
    }

    proptest! {
        #[test]
        fn prefix_range_holds_exactly_the_keys_under_the_prefix(
            prefix in proptest::collection::vec(any::<u8>(), 0..6),
            key in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let (start, end) = prefix_range(&prefix);
            let in_range = key >= start && (end == [0] || key < end);
            // With an empty prefix the range starts at "\0": the empty key is
            // not a key etcd can hold.
            prop_assume!(!key.is_empty());
            prop_assert_eq!(in_range, key.starts_with(&prefix));
        }
    }
}
