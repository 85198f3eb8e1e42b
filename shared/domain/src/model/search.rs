//! The customer search staff use to attribute a mention: entries and how names are folded.

use serde::{Deserialize, Serialize};

use crate::values::ids::CustomerId;
use crate::values::person::Phone;

/// Normalises a name for the search index and for matching mentions: lower case, single spaces,
/// letters, digits, apostrophes and hyphens only.
pub fn search_text(raw: &str) -> String {
    raw.split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '-')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to ten enrolled people among search entries (each person once).
pub fn candidates(entries: Vec<SearchEntry>) -> Vec<SearchEntry> {
    let mut found: Vec<SearchEntry> = Vec::new();
    for entry in entries.into_iter().filter(|e| e.enrolled) {
        if found.len() < 10 && !found.iter().any(|f| f.customer_id == entry.customer_id) {
            found.push(entry);
        }
    }
    found
}

/// A key a contact is found under: its folded name (either order) or its number. The store
/// keeps one entry per key and contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey {
    Name(String),
    Phone(Phone),
}

/// What staff look for: the start of a folded name, or the start of a number in E.164 (`+1512`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchQuery {
    Name(String),
    Phone(String),
}

impl SearchQuery {
    /// Whether a contact found under `key` matches.
    pub fn matches(&self, key: &SearchKey) -> bool {
        match (self, key) {
            (SearchQuery::Name(prefix), SearchKey::Name(name)) => name.starts_with(prefix.as_str()),
            (SearchQuery::Phone(prefix), SearchKey::Phone(phone)) => {
                phone.as_e164().starts_with(prefix.as_str())
            }
            _ => false,
        }
    }
}

/// A contact as the customer search shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchEntry {
    pub customer_id: CustomerId,
    pub name: String,
    pub phone: Option<Phone>,
    pub enrolled: bool,
}

impl SearchEntry {
    /// The index keys a contact is found under: its name both ways round and its phone.
    pub fn keys(&self, first: &str, last: Option<&str>) -> Vec<SearchKey> {
        let first = search_text(first);
        let mut keys = Vec::new();
        match last.map(search_text).filter(|l| !l.is_empty()) {
            Some(last) => {
                keys.push(SearchKey::Name(format!("{first} {last}")));
                keys.push(SearchKey::Name(format!("{last} {first}")));
            }
            None => keys.push(SearchKey::Name(first)),
        }
        if let Some(phone) = &self.phone {
            keys.push(SearchKey::Phone(phone.clone()));
        }
        // "Cher Cher" is one key, not two.
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_folds_case_punctuation_and_spacing() {
        assert_eq!(search_text("  Maria   GARCIA, "), "maria garcia");
        assert_eq!(search_text("O'Neil-Smith"), "o'neil-smith");
        assert_eq!(search_text("..."), "");
    }

    #[test]
    fn a_contact_is_found_under_both_name_orders_and_its_phone() {
        let entry = SearchEntry {
            customer_id: CustomerId::parse("c1").unwrap(),
            name: "Maria Garcia".into(),
            phone: Some(Phone::parse("+15125550123", crate::values::person::Country::US).unwrap()),
            enrolled: true,
        };
        assert_eq!(
            entry.keys("Maria", Some("Garcia")),
            vec![
                SearchKey::Name("maria garcia".into()),
                SearchKey::Name("garcia maria".into()),
                SearchKey::Phone(entry.phone.clone().unwrap()),
            ]
        );
        assert_eq!(entry.keys("Cher", Some("Cher")).len(), 2);
    }
}
