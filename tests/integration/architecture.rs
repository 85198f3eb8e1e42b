//! The top-level modules of each library crate depend on each other without cycles, so each
//! one can be understood, moved or split out on its own.
//!
//! The graph is read from the source text: a file belongs to the top-level module named by its
//! first path component under `src/` (`program.rs` and `program/rewarding.rs` are both
//! `program`; `lib.rs` and `main.rs` are the root and left out), and it depends on module `m`
//! when its code names `crate::m` (alone, or in a group such as `use crate::{m, n::x}`), or
//! reaches the crate root through `super::` and names `m` there. Comments and string and
//! character literals are not code. Test modules (`tests.rs` files and `#[cfg(test)] mod
//! tests`) are left out: tests may reach anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library crates whose module graphs are checked, relative to the workspace.
const CRATES: [&str; 4] = [
    "shared/domain/src",
    "shared/aws/src",
    "shared/http/src",
    "shared/local/src",
];

/// Top-level module → the top-level modules it names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted, with its path relative to `src`.
fn rust_files(src: &Path, dir: &Path, into: &mut Vec<(PathBuf, PathBuf)>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(src, &path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src).expect("under src").to_path_buf();
            into.push((relative, path));
        }
    }
}

/// The module path a file defines: `program/rewarding.rs` → `[program, rewarding]`,
/// `program/mod.rs` → `[program]`; `None` for the crate root and for test modules (`tests.rs`
/// files and the files of a `tests/` module directory).
fn module_path(relative: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop()?;
    let stem = file.strip_suffix(".rs")?;
    let root = parts.is_empty() && (stem == "lib" || stem == "main");
    if root || stem == "tests" || parts.iter().any(|p| p == "tests") {
        return None;
    }
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

/// The source without its `#[cfg(test)] mod tests`: a declaration (`mod tests;`), or an inline
/// module, which rustfmt closes with a `}` alone at the start of a line.
fn without_tests(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]"
            && let Some(at) = (i + 1..lines.len()).find(|&j| !lines[j].trim().is_empty())
            && let Some((_, rest)) = lines[at].split_once("mod tests")
        {
            match rest.trim() {
                ";" => {
                    i = at + 1;
                    continue;
                }
                "{" => {
                    i = lines[at + 1..]
                        .iter()
                        .position(|l| *l == "}")
                        .map_or(lines.len(), |n| at + 1 + n + 1);
                    continue;
                }
                _ => {}
            }
        }
        kept.push(lines[i]);
        i += 1;
    }
    kept.join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source with comments and string and character literals blanked (newlines kept), so
/// that what is left is code.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let blank = |c: &char| if *c == '\n' { '\n' } else { ' ' };
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        let before = |back: usize| i.checked_sub(back).map(|at| chars[at]);
        // Where the comment or literal starting here ends (exclusive), if one does.
        let end = if rest.starts_with(&['/', '/']) {
            Some(
                rest.iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |n| i + n),
            )
        } else if rest.starts_with(&['/', '*']) {
            // Block comments nest.
            let mut depth = 0usize;
            let mut j = i;
            while j < chars.len() {
                if chars[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if chars[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            Some(j.min(chars.len()))
        } else if rest[0] == 'r'
            && (!before(1).is_some_and(is_ident)
                || before(1) == Some('b') && !before(2).is_some_and(is_ident))
        {
            // A raw string: `r"…"`, `r#"…"#`, `br"…"` (the `b` stays, as an identifier would).
            let hashes = rest[1..].iter().take_while(|&&h| h == '#').count();
            (rest.get(1 + hashes) == Some(&'"')).then(|| {
                let close: Vec<char> = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                (i + 2 + hashes..chars.len())
                    .find(|&j| chars[j..].starts_with(&close))
                    .map_or(chars.len(), |j| j + close.len())
            })
        } else if rest[0] == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            Some((j + 1).min(chars.len()))
        } else if rest[0] == '\'' {
            // A character literal (`'x'`, `'\n'`, `'\''`, `'\u{7b}'`); otherwise a lifetime.
            if rest.get(1) == Some(&'\\') {
                (i + 3..chars.len())
                    .find(|&j| chars[j] == '\'')
                    .map(|j| j + 1)
            } else if rest.get(2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            }
        } else {
            None
        };
        match end {
            Some(end) => {
                out.extend(chars[i..end].iter().map(blank));
                i = end;
            }
            None => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    out.into_iter().collect()
}

/// The identifier starting at `at`, if one does.
fn ident_at(chars: &[char], at: usize) -> Option<String> {
    let word: String = chars[at.min(chars.len())..]
        .iter()
        .take_while(|&&c| is_ident(c))
        .collect();
    (!word.is_empty()).then_some(word)
}

fn skip_space(chars: &[char], mut at: usize) -> usize {
    while at < chars.len() && chars[at].is_whitespace() {
        at += 1;
    }
    at
}

/// What a path names right after `crate::` (at `at`): one name, or the first name of each
/// member of a group `{a, b::c, d::{e, f}}`.
fn heads(chars: &[char], at: usize) -> Vec<String> {
    let at = skip_space(chars, at);
    if chars.get(at) != Some(&'{') {
        return ident_at(chars, at).into_iter().collect();
    }
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut expect = true;
    let mut j = at;
    while j < chars.len() {
        match chars[j] {
            '{' => {
                depth += 1;
                expect = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect = true,
            c if c.is_whitespace() => {}
            c if is_ident(c) && depth == 1 && expect => {
                if let Some(word) = ident_at(chars, j) {
                    j += word.chars().count();
                    found.push(word);
                    expect = false;
                    continue;
                }
            }
            _ => {
                if depth == 1 {
                    expect = false;
                }
            }
        }
        j += 1;
    }
    found
}

const SUPER: [char; 7] = ['s', 'u', 'p', 'e', 'r', ':', ':'];

/// The top-level modules (of `modules`) that `code`, the code of module `path`, names, other
/// than its own.
fn dependencies(code: &str, path: &[String], modules: &BTreeSet<String>) -> BTreeSet<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut named = Vec::new();
    let mut depth = 0usize;
    // The brace depths of the bodies of inline modules (`mod x { … }`) open here: `super::`
    // inside one goes up to the module around it.
    let mut inline: Vec<usize> = Vec::new();
    let mut opens_module = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
            if opens_module {
                inline.push(depth);
                opens_module = false;
            }
        } else if c == '}' {
            if inline.last() == Some(&depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        } else if c == ';' {
            opens_module = false;
        }
        let starts_word =
            is_ident(c) && !(i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == '$'));
        let Some(word) = ident_at(&chars, i).filter(|_| starts_word) else {
            i += 1;
            continue;
        };
        let after = i + word.chars().count();
        let path_follows = |at: usize| chars[at.min(chars.len())..].starts_with(&[':', ':']);
        match word.as_str() {
            "mod" => {
                let name_at = skip_space(&chars, after);
                if let Some(name) = ident_at(&chars, name_at) {
                    let next = skip_space(&chars, name_at + name.chars().count());
                    opens_module = chars.get(next) == Some(&'{');
                }
            }
            "crate" if path_follows(after) => named.extend(heads(&chars, after + 2)),
            "super" if path_follows(after) => {
                let mut levels = 1;
                let mut at = after + 2;
                while chars[at.min(chars.len())..].starts_with(&SUPER) {
                    levels += 1;
                    at += SUPER.len();
                }
                // Up to the crate root: what follows is a top-level module.
                if levels == path.len() + inline.len() {
                    named.extend(heads(&chars, at));
                }
                i = at;
                continue;
            }
            _ => {}
        }
        i = after;
    }
    named
        .into_iter()
        .filter(|m| modules.contains(m) && Some(m) != path.first())
        .collect()
}

/// The module graph of the crate whose sources are in `src`.
fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, src, &mut files);
    let files: Vec<(Vec<String>, PathBuf)> = files
        .into_iter()
        .filter_map(|(relative, file)| module_path(&relative).map(|path| (path, file)))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|(path, _)| path[0].clone()).collect();
    let mut graph: Graph = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for (path, file) in &files {
        let source = std::fs::read_to_string(file)
            .unwrap_or_else(|err| panic!("reading {}: {err}", file.display()));
        let code = code_only(&without_tests(&source));
        let used = dependencies(&code, path, &modules);
        graph.entry(path[0].clone()).or_default().extend(used);
    }
    graph
}

/// The modules `from` reaches (itself only through a cycle).
fn reachable(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = vec![from];
    while let Some(at) = stack.pop() {
        for next in graph.get(at).into_iter().flatten() {
            if seen.insert(next.clone()) {
                stack.push(next);
            }
        }
    }
    seen
}

/// Every elementary cycle of `graph`, once each, written from its smallest module back to it
/// (`[a, b, a]`); shortest first.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in graph.keys() {
        let ahead = reachable(graph, start);
        if !ahead.contains(start) {
            continue;
        }
        // A cycle through `start` only passes modules that `start` reaches and that reach it
        // back; those smaller than `start` were the start of their own cycles already.
        let on_cycles: BTreeSet<&String> = ahead
            .iter()
            .filter(|m| *m > start && reachable(graph, m).contains(start))
            .collect();
        let mut path = vec![start.clone()];
        walk(graph, &on_cycles, &mut path, &mut found);
    }
    found.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    found
}

fn walk(
    graph: &Graph,
    allowed: &BTreeSet<&String>,
    path: &mut Vec<String>,
    found: &mut Vec<Vec<String>>,
) {
    let start = path[0].clone();
    let last = path[path.len() - 1].clone();
    for next in graph.get(&last).into_iter().flatten() {
        if *next == start {
            let mut cycle = path.clone();
            cycle.push(start.clone());
            found.push(cycle);
        } else if allowed.contains(next) && !path.contains(next) {
            path.push(next.clone());
            walk(graph, allowed, path, found);
            path.pop();
        }
    }
}

#[test]
fn modules_of_each_library_crate_depend_on_each_other_without_cycles() {
    let mut report = Vec::new();
    let mut dependencies = 0;
    for krate in CRATES {
        let graph = module_graph(&workspace().join(krate));
        assert!(!graph.is_empty(), "{krate}: no modules found");
        let edges: usize = graph.values().map(BTreeSet::len).sum();
        dependencies += edges;
        let found = cycles(&graph);
        println!(
            "{krate}: {} modules, {edges} dependencies, {} cycles",
            graph.len(),
            found.len()
        );
        for cycle in &found {
            let line = format!("{krate}: {}", cycle.join(" -> "));
            println!("  {line}");
            report.push(line);
        }
    }
    // Sources read wrongly (moved, or no longer recognised) must not pass as acyclic.
    assert!(dependencies > 0, "no module dependencies found at all");
    assert!(
        report.is_empty(),
        "{} import cycles between modules:\n{}",
        report.len(),
        report.join("\n")
    );
}

fn graph(edges: &[(&str, &str)]) -> Graph {
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph
            .entry((*from).to_owned())
            .or_default()
            .insert((*to).to_owned());
        graph.entry((*to).to_owned()).or_default();
    }
    graph
}

fn written(cycles: &[Vec<String>]) -> Vec<String> {
    cycles.iter().map(|c| c.join(" -> ")).collect()
}

#[test]
fn the_cycle_finder_lists_each_cycle_once_and_passes_an_acyclic_graph() {
    let acyclic = graph(&[("a", "b"), ("a", "c"), ("b", "c"), ("d", "a")]);
    assert_eq!(written(&cycles(&acyclic)), Vec::<String>::new());

    let tangled = graph(&[
        ("flows", "services"),
        ("services", "flows"),
        ("program", "webhook"),
        ("webhook", "services"),
        ("services", "program"),
        ("ports", "program"),
        ("program", "ports"),
        ("ids", "error"),
    ]);
    assert_eq!(
        written(&cycles(&tangled)),
        vec![
            "flows -> services -> flows",
            "ports -> program -> ports",
            "program -> webhook -> services -> program",
        ]
    );
}

#[test]
fn dependencies_are_read_from_code_and_not_from_comments_strings_or_tests() {
    let modules: BTreeSet<String> = ["flows", "ids", "ports", "program", "services", "sms"]
        .map(String::from)
        .into();
    let source = r#"//! Mentions crate::sms in a doc comment only.
use crate::{ids::BusinessId, ports::{Outbox, Rate}, Error};
use crate::program;
use std::fmt;

/* a block /* nested */ comment naming crate::sms */
pub fn run<'a>(x: &'a str) -> char {
    let _ = "a string naming crate::sms and a brace {";
    let _ = r"raw crate::sms";
    let quote = '"';
    let open = '{';
    crate::services::go(x);
    quote
}

pub mod inner {
    use super::*;
}

#[cfg(test)]
mod tests {
    use crate::sms::Message;
}
"#;
    let path = vec!["flows".to_owned()];
    let code = code_only(&without_tests(source));
    let found = dependencies(&code, &path, &modules);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["ids", "ports", "program", "services"]
    );

    // From `program/rewarding.rs`, `super::` is `program` itself and `super::super::` the root.
    let nested = "use super::{Plan, Context};\nuse super::super::sms::Purpose;\nfn f() { crate::program::x(); }";
    let path = vec!["program".to_owned(), "rewarding".to_owned()];
    assert_eq!(
        dependencies(&code_only(nested), &path, &modules)
            .into_iter()
            .collect::<Vec<_>>(),
        ["sms"]
    );
    assert_eq!(module_path(Path::new("program/rewarding.rs")), Some(path));
    assert_eq!(module_path(Path::new("lib.rs")), None);
    assert_eq!(module_path(Path::new("leads/tests.rs")), None);
    assert_eq!(module_path(Path::new("app/tests/flows.rs")), None);
}
