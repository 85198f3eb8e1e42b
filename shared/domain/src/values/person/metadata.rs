//! The phone library's metadata one calling code at a time.
//!
//! `phonenumber::metadata::DATABASE` decodes all 254 territories and checks thousands of regular
//! expressions the first time it is used: ~90 ms of CPU, over a second in a 128 MB Lambda.
//! `build.rs` splits the same metadata by calling code, and a number is read with a database of
//! its own code's territories only (the 25 NANP ones for a US number: ~8 ms), built on first
//! use and kept for the life of the process.

use std::sync::{Arc, Mutex, PoisonError};

use phonenumber::country::Id;
use phonenumber::metadata::{Database, loader};

// `CALLING_CODES` and `REGIONS`, written by `build.rs`.
include!(concat!(env!("OUT_DIR"), "/phone_metadata.rs"));

/// The calling code of a region (`1` for `US`).
pub(super) fn calling_code(region: Id) -> Option<u16> {
    let index = REGIONS
        .binary_search_by_key(&region.as_ref(), |&(id, _)| id)
        .ok()?;
    REGIONS.get(index).map(|&(_, code)| code)
}

/// The calling code whose database should read `raw` with `default_region`, and that database.
///
/// A number written with a leading `+` is read with the code it starts with, anything else with
/// the default region's. The guess only has to be good, not right: the caller checks that the
/// number did turn out to have this code, and otherwise asks the whole metadata.
pub(super) fn for_number(raw: &str, default_region: Id) -> Option<(u16, Arc<Database>)> {
    let code = match raw.trim_start().strip_prefix(['+', '\u{FF0B}']) {
        Some(rest) => leading_calling_code(rest).or_else(|| calling_code(default_region))?,
        None => calling_code(default_region)?,
    };
    Some((code, database(code, default_region)?))
}

/// The calling code the digits of `rest` start with. No calling code is the start of another,
/// so at most one of the first one, two and three digits is a calling code.
fn leading_calling_code(rest: &str) -> Option<u16> {
    let digits: String = rest.chars().filter(char::is_ascii_digit).take(3).collect();
    if digits.starts_with('0') {
        return None;
    }
    (1..=digits.len()).find_map(|len| {
        let code = digits.get(..len)?.parse().ok()?;
        territories_blob(code).map(|_| code)
    })
}

/// A database built for a calling code and default region.
struct Built {
    code: u16,
    /// The default region, when its own calling code is another.
    foreign_default: Option<Id>,
    database: Arc<Database>,
}

/// The databases built so far: in practice the business's own calling code, now and then a
/// foreign one. Built under the lock, so that callers at the same moment wait for one build.
static BUILT: Mutex<Vec<Built>> = Mutex::new(Vec::new());

/// A database with every territory of `code`, plus `default_region` when its calling code is
/// another: the parser reads the default region's international and national prefixes whatever
/// the number's code, so without it some numbers would read differently than with the whole
/// metadata.
fn database(code: u16, default_region: Id) -> Option<Arc<Database>> {
    let default_code = calling_code(default_region)?;
    let foreign_default = (default_code != code).then_some(default_region);
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = built
        .iter()
        .find(|b| b.code == code && b.foreign_default == foreign_default)
    {
        return Some(Arc::clone(&found.database));
    }
    let mut chosen = territories(code)?;
    if let Some(region) = foreign_default {
        let own = territories(default_code)?
            .into_iter()
            .find(|t| t.id.as_deref() == Some(region.as_ref()))?;
        chosen.push(own);
    }
    let database = Arc::new(Database::from(chosen).ok()?);
    built.push(Built {
        code,
        foreign_default,
        database: Arc::clone(&database),
    });
    Some(database)
}

/// The metadata of every territory with this calling code, in the metadata file's order.
pub(super) fn territories(code: u16) -> Option<Vec<loader::Metadata>> {
    postcard::from_bytes(territories_blob(code)?).ok()
}

fn territories_blob(code: u16) -> Option<&'static [u8]> {
    let index = CALLING_CODES
        .binary_search_by_key(&code, |&(code, _)| code)
        .ok()?;
    CALLING_CODES.get(index).map(|&(_, blob)| blob)
}

/// Every calling code the metadata knows, ascending.
#[cfg(test)]
pub(super) fn calling_codes() -> impl Iterator<Item = u16> {
    CALLING_CODES.iter().map(|&(code, _)| code)
}
