//! The first phone number a process reads, and the second: what a cold function pays for phone
//! metadata, on this thread's CPU clock. `make bench` starts it afresh for each figure;
//! `valgrind --tool=callgrind target/x86_64-unknown-linux-gnu/release/first-phone 5125550123 US`
//! counts its instructions.
//!
//! Prints `first_cpu_ns second_cpu_ns what_was_read`.

use vouch_domain::values::person::{Country, Phone};

fn cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(raw), Some(region)) = (args.next(), args.next()) else {
        eprintln!("usage: first-phone NUMBER REGION");
        std::process::exit(2);
    };
    let region = match Country::parse(&region) {
        Ok(region) => region,
        Err(error) => {
            eprintln!("{region}: {}", error.reason());
            std::process::exit(2);
        }
    };
    let started = cpu_ns();
    let first = Phone::parse(&raw, region);
    let first_took = cpu_ns() - started;
    let started = cpu_ns();
    let second = Phone::parse(&raw, region);
    let second_took = cpu_ns() - started;
    let shown = |read: Result<Phone, _>| {
        read.map_or_else(
            |e: vouch_domain::values::ParseError| e.reason().to_owned(),
            |phone| phone.to_string(),
        )
    };
    let read = shown(first);
    if read != shown(second) {
        eprintln!("{raw} read differently the second time");
        std::process::exit(1);
    }
    println!("{first_took} {second_took} {read}");
}
