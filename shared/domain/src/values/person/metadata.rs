//! The phone library's metadata one region or calling code at a time.
//!
//! `phonenumber::metadata::DATABASE` decodes all 254 territories and checks thousands of regular
//! expressions the first time it is used: ~90 ms of CPU, over a second in a 128 MB Lambda.
//! `build.rs` splits the same metadata by calling code (keeping only what checking a number
//! uses), and a number is read first with its default region's territory alone, then if need be
//! with its calling code's territories (the 25 NANP ones for a US number), each database built on
//! first use and kept for the life of the process.

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

/// The territories a database was built with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// The default region's own territory alone.
    Region(Id),
    /// Every territory of a calling code, and the default region when its code is another.
    Code {
        code: u16,
        foreign_default: Option<Id>,
    },
}

/// The databases built so far: in practice the business's own region and calling code, now and
/// then a foreign code. Built under the lock, so that callers at the same moment wait for one
/// build.
static BUILT: Mutex<Vec<(Holds, Arc<Database>)>> = Mutex::new(Vec::new());

/// A database of `region`'s own territory alone: one territory's rules to decode and compile
/// instead of its calling code's (the 25 NANP territories for the US).
///
/// A number it calls valid is valid with the whole metadata too, with the same E.164: the
/// number has the region's own code, and the library decides validity by the first of the
/// code's territories whose rules take the number, which for a number valid in the region is the
/// region (the code's main territory comes first, and the others that come before it claim
/// numbers by leading digits the region's rules do not take). A number it does not call valid
/// says nothing, and is read again with the calling code's database (`phone_equivalence` holds
/// both to the whole metadata's answers on every territory's examples).
pub(super) fn region_alone(region: Id) -> Option<Arc<Database>> {
    built(Holds::Region(region), || {
        let code = calling_code(region)?;
        let own = territories(code)?
            .into_iter()
            .find(|t| t.id.as_deref() == Some(region.as_ref()))?;
        Some(vec![own])
    })
}

/// A database with every territory of `code`, plus `default_region` when its calling code is
/// another: the parser reads the default region's international and national prefixes whatever
/// the number's code, so without it some numbers would read differently than with the whole
/// metadata.
fn database(code: u16, default_region: Id) -> Option<Arc<Database>> {
    let default_code = calling_code(default_region)?;
    let foreign_default = (default_code != code).then_some(default_region);
    built(
        Holds::Code {
            code,
            foreign_default,
        },
        || {
            let mut chosen = territories(code)?;
            if let Some(region) = foreign_default {
                let own = territories(default_code)?
                    .into_iter()
                    .find(|t| t.id.as_deref() == Some(region.as_ref()))?;
                chosen.push(own);
            }
            Some(chosen)
        },
    )
}

/// The database holding `holds`, built from `territories` the first time it is asked for.
fn built(
    holds: Holds,
    territories: impl FnOnce() -> Option<Vec<loader::Metadata>>,
) -> Option<Arc<Database>> {
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, found)) = built.iter().find(|(h, _)| *h == holds) {
        return Some(Arc::clone(found));
    }
    let database = Arc::new(Database::from(territories()?).ok()?);
    built.push((holds, Arc::clone(&database)));
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
