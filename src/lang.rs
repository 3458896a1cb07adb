//! The language of a document handed to a client: a wipe receipt, a client
//! report, an erasure's confirmation. It is never the interface language (the
//! language intervault speaks to the agency's own people).
//!
//! The vault remembers, per client, the language the agency last chose for one
//! of its documents, so that the next document defaults to it.

use serde::{Deserialize, Serialize};

/// A language a client document can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
}

impl Lang {
    /// Its ISO 639-1 code, as `--lang` takes it and JSON shows it.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_is_stored_as_its_code() {
        for lang in [Lang::En, Lang::Fr] {
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{}\"", lang.code()));
            assert_eq!(serde_json::from_str::<Lang>(&json).unwrap(), lang);
        }
        assert!(serde_json::from_str::<Lang>("\"de\"").is_err());
    }
}
