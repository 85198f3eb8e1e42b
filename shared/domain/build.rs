//! Splits the phone metadata by calling code, so that checking a number decodes and compiles
//! only its own calling code's rules (the 25 NANP territories for a US number: ~8 ms) instead
//! of the whole world's (254 territories: ~90 ms of CPU, over a second in a 128 MB Lambda).
//! `src/values/person/metadata.rs` reads what this writes.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::PathBuf;

use phonenumber::metadata::loader;

/// The `phonenumber` crate's own metadata file, vendored (see `assets/README.md`).
const METADATA: &str = "assets/PhoneNumberMetadata.xml";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed={METADATA}");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
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
        by_code.entry(code).or_default().push(territory);
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
