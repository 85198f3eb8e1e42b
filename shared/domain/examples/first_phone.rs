//! The first phone number a process reads, and the second, timed: what a cold function pays
//! for phone metadata. `BENCHMARKS.md` counts its instructions with
//! `valgrind --tool=callgrind target/release/examples/first_phone 5125550123 US`.
//!
//! `cargo run --release -p vouch-domain --example first_phone -- '+44 7400 123456' US`

use std::time::Instant;

use vouch_domain::values::person::{Country, Phone};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(raw), Some(region)) = (args.next(), args.next()) else {
        eprintln!("usage: first_phone NUMBER REGION");
        std::process::exit(2);
    };
    let region = match Country::parse(&region) {
        Ok(region) => region,
        Err(error) => {
            eprintln!("{region}: {}", error.reason());
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let first = Phone::parse(&raw, region);
    let first_took = started.elapsed();
    let started = Instant::now();
    let _second = Phone::parse(&raw, region);
    let second_took = started.elapsed();
    let read = first.map_or_else(|e| e.reason().to_owned(), |phone| phone.to_string());
    println!("{raw} ({region}): {read}; first {first_took:?}, second {second_took:?}");
}
