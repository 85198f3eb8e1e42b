//! Splits the phone metadata by calling code, so that checking a number decodes and compiles
//! only its own region's or calling code's rules instead of the whole world's (254 territories:
//! ~90 ms of CPU, over a second in a 128 MB Lambda). `src/values/person/metadata.rs` reads what
//! this writes.
//!
//! Only what reading and checking a number uses is kept: the formats (for writing numbers the
//! way people do; Vouch writes E.164 itself) and the descriptors no check looks at (emergency,
//! short codes, carrier-specific, standard rate, not dialled from abroad) are left out, so that
//! their patterns are not parsed at every first use. The patterns matched against national
//! numbers have `\d` written as `[0-9]`: a national number is ASCII digits by then (the parser
//! maps every other digit to its ASCII one), and the regular expression library compiles a
//! Unicode `\d` (every script's digits) into an automaton several times larger. They are also
//! written anchored at the start, `^(?:…)`: the library only ever asks whether they match from
//! the number's first digit, but searched for anywhere, the regular expression library works out
//! the literals a match could start and end with to speed the search up, which was half the
//! cost of a first number. Every pattern has its layout whitespace taken out (below). Together
//! with reading a number with its default region's rules alone, a first US number costs a
//! fourteenth of the instructions it did with its calling code's (`BENCHMARKS.md`).
//!
//! It also compiles the link-preview bots' user-agent fragments (`assets/preview-bots.txt`)
//! into the automaton `src/rules/attribution.rs` loads (see `preview_bots` below).

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::PathBuf;

use phonenumber::metadata::loader;

/// The `phonenumber` crate's own metadata file, vendored (see `assets/README.md`).
const METADATA: &str = "assets/PhoneNumberMetadata.xml";

/// The link-preview bots' user-agent fragments (see `src/rules/attribution.rs`).
const PREVIEW_BOTS: &str = "assets/preview-bots.txt";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={METADATA}");
    println!("cargo::rerun-if-changed={PREVIEW_BOTS}");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    preview_bots(&out)?;
    let territories = loader::load(BufReader::new(File::open(METADATA)?))?;

    // Kept in the file's order within a code: the library's `Database` puts the code's main
    // territory first and keeps the others in the order given, as with its own metadata.
    let mut by_code: BTreeMap<u16, Vec<loader::Metadata>> = BTreeMap::new();
    let mut regions = BTreeMap::new();
    for territory in territories {
        let code = territory
            .country_code
            .ok_or("a territory has no countryCode")?;
        let id = territory.id.clone().ok_or("a territory has no id")?;
        // `001` is a non-geographic code (+800 freephone …), never a default region.
        if id != "001" {
            regions.insert(id, code);
        }
        by_code
            .entry(code)
            .or_default()
            .push(ascii_digits(compact(for_checking(territory))?));
    }

    let mut table = String::new();
    writeln!(
        table,
        "/// Each calling code, ascending, with its territories' metadata (postcard).\n\
         static CALLING_CODES: [(u16, &[u8]); {}] = [",
        by_code.len()
    )?;
    for (code, group) in &by_code {
        let file = format!("calling-code-{code}.postcard");
        fs::write(out.join(&file), postcard::to_stdvec(group)?)?;
        writeln!(
            table,
            "    ({code}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\"))),"
        )?;
    }
    writeln!(table, "];")?;
    writeln!(
        table,
        "/// Each region (ISO 3166-1 alpha-2), ascending, with its calling code.\n\
         static REGIONS: [(&str, u16); {}] = [",
        regions.len()
    )?;
    for (id, code) in &regions {
        writeln!(table, "    ({id:?}, {code}),")?;
    }
    writeln!(table, "];")?;
    fs::write(out.join("phone_metadata.rs"), table)?;
    Ok(())
}

/// `territory` without what the library's parser and validator never use.
fn for_checking(mut territory: loader::Metadata) -> loader::Metadata {
    territory.formats.clear();
    territory.international_formats.clear();
    territory.emergency = None;
    territory.short_code = None;
    territory.standard_rate = None;
    territory.carrier = None;
    territory.no_international = None;
    // Where mobile numbers are written as fixed lines are (the NANP territories: one 655-character
    // pattern), a number either is both or neither; the validator then answers "fixed line"
    // rather than "fixed line or mobile", equally valid, and the pattern is parsed once.
    let same = |a: &Option<loader::Descriptor>, b: &Option<loader::Descriptor>| {
        a.as_ref().map(|d| &d.national_number) == b.as_ref().map(|d| &d.national_number)
    };
    if territory.mobile.is_some() && same(&territory.mobile, &territory.fixed_line) {
        territory.mobile = None;
    }
    territory
}

/// `territory` with the whitespace of its patterns taken out. The metadata file lays long
/// patterns out over many indented lines (the US fixed-line one is 2,020 characters, 655 without
/// its whitespace); the library compiles them ignoring whitespace, but checks their syntax first
/// without ignoring it, and either way its parser reads every character. A pattern whose
/// whitespace could mean something in that mode (after a `\`, or with a `#` comment) stops the
/// build.
fn compact(mut territory: loader::Metadata) -> Result<loader::Metadata, Box<dyn Error>> {
    let id = territory.id.clone().unwrap_or_default();
    let clean = |pattern: &mut String| -> Result<(), Box<dyn Error>> {
        let escaped_space = pattern
            .as_bytes()
            .windows(2)
            .any(|pair| pair[0] == b'\\' && pair[1].is_ascii_whitespace());
        if pattern.contains('#') || escaped_space {
            return Err(format!("{id}: whitespace in {pattern:?} may mean something").into());
        }
        pattern.retain(|c| !c.is_ascii_whitespace());
        Ok(())
    };
    for descriptor in number_types(&mut territory) {
        descriptor.national_number.iter_mut().try_for_each(clean)?;
    }
    for pattern in [
        &mut territory.leading_digits,
        &mut territory.international_prefix,
        &mut territory.national_prefix_for_parsing,
    ] {
        pattern.iter_mut().try_for_each(clean)?;
    }
    Ok(territory)
}

/// `territory` with `\d` as `[0-9]`, anchored at the start, in every pattern matched against a
/// national number: its number types and the leading digits that claim numbers for it. The
/// library uses each of these only to ask whether it matches at the start (a search whose match
/// must start at 0), so the anchor changes no answer. Its dialling prefixes are left as they are.
fn ascii_digits(mut territory: loader::Metadata) -> loader::Metadata {
    fn rewrite(pattern: &mut String) {
        *pattern = format!("^(?:{})", pattern.replace("\\d", "[0-9]"));
    }
    for descriptor in number_types(&mut territory) {
        descriptor.national_number.iter_mut().for_each(rewrite);
    }
    territory.leading_digits.iter_mut().for_each(rewrite);
    territory
}

/// The descriptors of `territory`'s number types that [`for_checking`] keeps, each with the
/// pattern of the national numbers it takes.
fn number_types(territory: &mut loader::Metadata) -> impl Iterator<Item = &mut loader::Descriptor> {
    [
        &mut territory.general,
        &mut territory.fixed_line,
        &mut territory.mobile,
        &mut territory.toll_free,
        &mut territory.premium_rate,
        &mut territory.shared_cost,
        &mut territory.personal_number,
        &mut territory.voip,
        &mut territory.pager,
        &mut territory.uan,
        &mut territory.voicemail,
    ]
    .into_iter()
    .flatten()
}

/// Compiles the preview bots' fragments into one automaton that finds any of them anywhere in a
/// user agent, ignoring ASCII case, and writes it for the target's byte order: a click only
/// checks it (microseconds) instead of compiling a matcher (0.3–0.5 ms of CPU on a cold start).
fn preview_bots(out: &std::path::Path) -> Result<(), Box<dyn Error>> {
    use regex_automata::dfa::{StartKind, dense};
    use regex_automata::util::syntax;
    let text = fs::read_to_string(PREVIEW_BOTS)?;
    let fragments: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    if fragments.is_empty() {
        // An empty alternation would match nothing, and no visit would be seen as a bot's.
        return Err(format!("{PREVIEW_BOTS} lists no fragment").into());
    }
    if let Some(bad) = fragments.iter().find(|f| {
        !f.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    }) {
        return Err(format!(
            "{PREVIEW_BOTS}: {bad:?} is not lower-case letters, digits and hyphens"
        )
        .into());
    }
    // Letters, digits and hyphens are literals in a pattern: the alternation matches exactly
    // the fragments.
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Unanchored)
                .minimize(true),
        )
        .syntax(
            syntax::Config::new()
                .case_insensitive(true)
                .unicode(false)
                .utf8(false),
        )
        .build(&fragments.join("|"))?;
    let (bytes, padding) = match std::env::var("CARGO_CFG_TARGET_ENDIAN")?.as_str() {
        "big" => dfa.to_bytes_big_endian(),
        "little" => dfa.to_bytes_little_endian(),
        other => {
            return Err(format!("target byte order {other:?} is neither big nor little").into());
        }
    };
    fs::write(out.join("preview-bots.dfa"), &bytes[padding..])?;
    Ok(())
}
