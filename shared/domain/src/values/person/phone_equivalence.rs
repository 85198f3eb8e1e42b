//! `Phone::parse` reads numbers with one calling code's metadata at a time; these tests hold it
//! to what the whole metadata (`phonenumber::metadata::DATABASE`, as before) answers.

use phonenumber::country::Id;
use phonenumber::metadata::{DATABASE, Database, loader};
use proptest::prelude::*;

use super::{Country, Phone, metadata};

/// `Phone::parse` as it was: the crate's own parse, validation and formatting, all of which
/// use the whole metadata.
fn with_whole_metadata(raw: &str, region: Id) -> Result<String, &'static str> {
    if raw.len() > 40 {
        return Err("is too long to be a phone number");
    }
    let number = phonenumber::parse(Some(region), raw).map_err(|_| "is not a phone number")?;
    if !phonenumber::is_valid(&number) {
        return Err("is not a valid phone number");
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

fn assert_same(raw: &str, region: Id) {
    let ours = Phone::parse(raw, Country(region));
    let theirs = with_whole_metadata(raw, region);
    assert_eq!(
        ours.as_ref().map(Phone::as_e164).map_err(|e| e.reason()),
        theirs.as_deref().map_err(|e| *e),
        "{raw:?} with default region {region:?}"
    );
    if let Ok(phone) = ours {
        let stored = serde_json::to_value(&phone).unwrap();
        assert_eq!(serde_json::from_value::<Phone>(stored).ok(), Some(phone));
    }
}

fn example_numbers(territory: &loader::Metadata) -> impl Iterator<Item = &str> {
    [
        &territory.general,
        &territory.fixed_line,
        &territory.mobile,
        &territory.toll_free,
        &territory.premium_rate,
        &territory.shared_cost,
        &territory.personal_number,
        &territory.voip,
        &territory.pager,
        &territory.uan,
        &territory.emergency,
        &territory.voicemail,
        &territory.short_code,
        &territory.standard_rate,
        &territory.carrier,
        &territory.no_international,
    ]
    .into_iter()
    .filter_map(|descriptor| descriptor.as_ref()?.example.as_deref())
}

/// Every territory, non-geographic ones (`001`) included, with its calling code.
fn territories() -> Vec<(u16, loader::Metadata)> {
    metadata::calling_codes()
        .flat_map(|code| {
            let territories = metadata::territories(code).unwrap();
            territories.into_iter().map(move |t| (code, t))
        })
        .collect()
}

#[test]
fn the_split_metadata_is_the_crates_own() {
    let territories = territories();
    assert_eq!(territories.len(), 254);
    for code in metadata::calling_codes() {
        let ours = Database::from(metadata::territories(code).unwrap()).unwrap();
        assert_eq!(ours.region(&code), DATABASE.region(&code), "+{code}");
    }
    for region in DATABASE.iter().filter(|m| m.id() != "001") {
        let id: Id = region.id().parse().unwrap();
        assert_eq!(Country(id).calling_code(), region.country_code(), "{id:?}");
    }
}

#[test]
fn no_calling_code_starts_another() {
    let codes: Vec<String> = metadata::calling_codes().map(|c| c.to_string()).collect();
    for code in &codes {
        for other in codes.iter().filter(|other| *other != code) {
            assert!(!other.starts_with(code.as_str()), "+{code} starts +{other}");
        }
    }
}

/// Every territory's example numbers, each written in the `forms` given its calling code, read
/// with the territory's own region and with the US as default; how many were checked.
fn assert_every_example_same(forms: impl Fn(u16, &str) -> Vec<String>) -> usize {
    let mut checked = 0;
    for (code, territory) in territories() {
        let own = territory.id.as_deref().and_then(|id| id.parse::<Id>().ok());
        for example in example_numbers(&territory) {
            for raw in forms(code, example) {
                for region in own.into_iter().chain([Id::US]) {
                    assert_same(&raw, region);
                    checked += 1;
                }
            }
        }
    }
    checked
}

#[test]
fn every_example_number_reads_as_with_the_whole_metadata() {
    let checked = assert_every_example_same(|code, example| {
        vec![
            example.to_owned(),
            format!("+{code} {example}"),
            format!("+{code}{example}"),
        ]
    });
    assert!(checked > 3000, "{checked}");
}

/// `digits` grouped as people write them: 3-3-rest with each separator, in parentheses, dotted.
fn written_forms(digits: &str) -> Vec<String> {
    let (head, rest) = digits.split_at(digits.len().min(3));
    let (middle, tail) = rest.split_at(rest.len().min(3));
    let mut forms: Vec<String> = [" ", "-", ".", " - "]
        .iter()
        .map(|sep| format!("{head}{sep}{middle}{sep}{tail}"))
        .collect();
    forms.push(format!("({head}) {middle}-{tail}"));
    forms.push(format!("({head}){middle}{tail}"));
    forms.push(format!(" {head} {middle} {tail} "));
    forms.push(format!("{head}-{middle}-{tail}-"));
    forms
}

#[test]
fn example_numbers_written_with_punctuation_read_as_with_the_whole_metadata() {
    let checked = assert_every_example_same(|code, example| {
        let forms = written_forms(example);
        let international: Vec<String> = forms
            .iter()
            .flat_map(|form| {
                [
                    format!("+{code} {form}"),
                    format!("+{code}({form})"),
                    format!("+{code}-{form}"),
                    format!(" + {code}.{form}"),
                ]
            })
            .collect();
        forms.into_iter().chain(international).collect()
    });
    assert!(checked > 40_000, "{checked}");
}

#[test]
fn dialling_prefixes_and_odd_forms_read_as_with_the_whole_metadata() {
    for (raw, region) in [
        ("011 44 20 7946 0018", Id::US),
        ("011 1 512 555 0123", Id::US),
        ("+011 44 20 7946 0018", Id::US),
        ("00 44 20 7946 0018", Id::GB),
        ("0011 61 2 1234 5678", Id::AU),
        ("810 44 20 7946 0018", Id::RU),
        ("8 10 7 701 234 5678", Id::RU),
        ("+44 113 496 0000", Id::US),
        ("+44 1 20 7946 0018", Id::US),
        ("+7 701 234 5678", Id::RU),
        ("+7 701 234 5678", Id::US),
        ("+800 1234 5678", Id::US),
        ("tel:+44-20-7946-0018", Id::US),
        ("tel:020-7946-0018;phone-context=+44", Id::US),
        ("1 512 555 0123", Id::US),
        ("44 20 7946 0018", Id::GB),
        ("64(0)64123456", Id::NZ),
        ("+1 512 555 0123 ext. 12", Id::US),
        ("1-800-FLOWERS", Id::US),
        ("+1-800-FLOWERS", Id::GB),
        ("+ 44 20 7946 0018", Id::US),
        ("+(44) 20 7946 0018", Id::US),
        ("＋44 20 7946 0018", Id::US),
        ("Call +44 20 7946 0018", Id::US),
        // Found by the properties below when the default region was left out.
        ("＋8101", Id::GB),
        ("+101", Id::GB),
        ("+", Id::US),
        ("+0", Id::US),
        ("512555", Id::US),
        ("(512) 555-0123", Id::US),
        ("1 (512) 555-0123", Id::US),
        ("512.555.0123", Id::US),
        ("020 7946 0018", Id::GB),
        ("(020) 7946 0018", Id::GB),
        ("0044 20 7946 0018", Id::GB),
        ("011 (44) 20-7946-0018", Id::US),
        ("(02) 9123 4567", Id::AU),
        ("()", Id::US),
        ("- . -", Id::US),
        ("(5)", Id::US),
        ("+1 (512) 555-0123", Id::US),
        ("+1.512.555.0123", Id::US),
        (" +44 (0)20 7946 0018", Id::GB),
        ("+44 (0) 20 7946 0018", Id::US),
        ("+61 (0)2 9123 4567", Id::AU),
        ("+1 1 512 555 0123", Id::US),
        ("++1 512 555 0123", Id::US),
        ("+4(941)4307.21", Id::DE),
        ("+4(941)4307.21", Id::CA),
        ("+1(512)555.0123", Id::US),
        ("+1-(512)-555-0123", Id::US),
        ("+15(12)5550123", Id::US),
    ] {
        assert_same(raw, region);
    }
}

/// Default regions for the property: the likely ones and a few with unusual prefixes.
const REGIONS: [Id; 10] = [
    Id::US,
    Id::CA,
    Id::GB,
    Id::AU,
    Id::DE,
    Id::RU,
    Id::KZ,
    Id::NZ,
    Id::IN,
    Id::JP,
];

proptest! {
    #[test]
    fn typed_numbers_read_as_with_the_whole_metadata(
        raw in "[+＋]?[ ]?(0{0,2}1{0,2}[0-9]{0,3})?[ ()-]?[0-9 ()-]{0,16}",
        region in prop::sample::select(REGIONS.to_vec()),
    ) {
        assert_same(&raw, region);
    }

    #[test]
    fn punctuated_national_numbers_read_as_with_the_whole_metadata(
        raw in "[ (]?[0-9]{1,4}[ ).-]{0,2}[0-9]{1,4}[ .-]?[0-9]{0,5}[ )-]?",
        region in prop::sample::select(REGIONS.to_vec()),
    ) {
        assert_same(&raw, region);
    }

    #[test]
    fn punctuated_numbers_with_the_regions_own_code_read_as_with_the_whole_metadata(
        raw in "[ ]?\\+[ ]?[0-9]{1,3}[ (-]{0,2}[0-9]{1,4}[ ).-]{0,2}[0-9]{1,4}[ .-]?[0-9]{0,5}",
        region in prop::sample::select(REGIONS.to_vec()),
    ) {
        assert_same(&raw, region);
    }

    #[test]
    fn numbers_with_a_calling_code_read_as_with_the_whole_metadata(
        code in prop::sample::select(metadata::calling_codes().collect::<Vec<_>>()),
        rest in "[0-9]{2,14}",
        region in prop::sample::select(REGIONS.to_vec()),
    ) {
        assert_same(&format!("+{code}{rest}"), region);
    }

    #[test]
    fn e164_numbers_with_the_regions_own_code_read_as_with_the_whole_metadata(
        region in prop::sample::select(REGIONS.to_vec()),
        rest in "[2-9][0-9]{9}|[0-9]{1,15}",
    ) {
        let code = Country(region).calling_code();
        assert_same(&format!("+{code}{rest}"), region);
    }
}
