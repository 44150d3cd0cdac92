//! The layer table of docs/architecture.md, kept true: every crate-internal import in `src/`
//! outside test code (`use crate::..`, `crate::x::` paths, `super::` resolved) must be one the
//! table allows, every top-level module has a row, and the table (so the imports) has no cycle.
//! The table is read from the document itself, so the two cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module -> the top-level modules it may import.
type Table = BTreeMap<String, BTreeSet<String>>;

/// One import of one module by another, with the file and line that makes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    from: String,
    to: String,
    at: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table under "## The layers and what each may import": the modules of the first column
/// (`wechat/`, `http.rs`) and the backticked modules of the third ("nothing" for none).
fn table(doc: &str) -> Table {
    let section = doc
        .split("## The layers and what each may import")
        .nth(1)
        .expect("docs/architecture.md has the layer table");
    let mut table = Table::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (modules, may) = (cells[1], cells[3]);
        if modules == "module" || modules.starts_with("---") {
            continue;
        }
        let allowed: BTreeSet<String> = ticked(may).collect();
        for module in ticked(modules) {
            table.insert(module, allowed.clone());
        }
    }
    table
}

/// The module names in backticks: `wechat/` and `http.rs` name `wechat` and `http`.
fn ticked(cell: &str) -> impl Iterator<Item = String> + '_ {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|m| m.trim_end_matches('/').trim_end_matches(".rs").to_string())
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are module `[a, b]`; `src/lib.rs` is the root, `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let file = parts.pop().unwrap_or_default();
    let stem = file.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without comments, string and char literals (their text is not an import).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                out.extend((chars[i] == '\n').then_some('\n'));
                i += 1;
            }
            i += 2;
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !ident(chars.get(i.wrapping_sub(1)))
        {
            // A raw string: r"..", r#".."#.
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let close: String = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            let start = i + 2 + hashes;
            let rest: String = chars[start..].iter().collect();
            let end = rest.find(&close).map_or(rest.len(), |e| e + close.len());
            out.extend(rest[..end].chars().filter(|&c| c == '\n'));
            out.push_str("\"\"");
            i = start + rest[..end].chars().count();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                out.extend((chars[i] == '\n').then_some('\n'));
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\''), not a lifetime.
            i += if next == Some('\\') { 2 } else { 1 };
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// `code` without the items under `#[cfg(test)]`; the names of out-of-line test modules
/// (`#[cfg(test)] mod fake;`) go to `test_modules`.
fn without_tests(code: &str, test_modules: &mut Vec<String>) -> String {
    let mut out = Vec::new();
    let mut lines = code.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "#[cfg(test)]" {
            out.push(line);
            continue;
        }
        // Skip attributes, then the item: one line ending in `;`, or up to its closing brace.
        let mut depth = 0i32;
        let mut opened = false;
        for item in lines.by_ref() {
            let t = item.trim();
            if !opened && (t.starts_with("#[") || t.is_empty()) {
                continue;
            }
            if !opened
                && let Some(name) = t
                    .strip_suffix(';')
                    .and_then(|t| t.split("mod ").nth(1))
                    .filter(|_| !t.contains('{'))
            {
                test_modules.push(name.trim().to_string());
            }
            depth += item.matches('{').count() as i32 - item.matches('}').count() as i32;
            opened |= item.contains('{');
            if depth <= 0 && (opened || t.ends_with(';')) {
                break;
            }
        }
    }
    out.join("\n")
}

/// Every `crate::` and `super::` path in `code` of module `module`, as the module it reaches
/// (`crate::{a, b::c}` reaches `a` and `b`).
fn reached(code: &str, module: &[String]) -> Vec<(Vec<String>, usize)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let bytes = line.as_bytes();
        for (at, _) in line
            .match_indices("crate::")
            .chain(line.match_indices("super::"))
        {
            if at > 0
                && (bytes[at - 1].is_ascii_alphanumeric()
                    || bytes[at - 1] == b'_'
                    || bytes[at - 1] == b':')
            {
                continue;
            }
            let mut base: Vec<String> = Vec::new();
            let mut rest = &line[at..];
            if let Some(r) = rest.strip_prefix("crate::") {
                rest = r;
            } else {
                base = module.to_vec();
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                let names = group.split('}').next().unwrap_or("");
                for name in names.split(',') {
                    let first = path_head(name.trim());
                    if !first.is_empty() && first != "self" {
                        let mut path = base.clone();
                        path.push(first);
                        found.push((path, n + 1));
                    }
                }
            } else {
                let first = path_head(rest);
                if !first.is_empty() && first != "self" {
                    base.push(first);
                }
                found.push((base, n + 1));
            }
        }
    }
    found
}

fn path_head(rest: &str) -> String {
    rest.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every import between two top-level modules in `files` (path under `src/`, text).
fn imports(files: &[(PathBuf, String)]) -> Vec<Import> {
    let mut test_only: Vec<Vec<String>> = Vec::new();
    let mut kept = Vec::new();
    for (path, text) in files {
        let module = module_path(path);
        let mut tests = Vec::new();
        let code = without_tests(&code_of(text), &mut tests);
        test_only.extend(tests.into_iter().map(|t| {
            let mut m = module.clone();
            m.push(t);
            m
        }));
        kept.push((path, module, code));
    }
    let mut all = Vec::new();
    for (path, module, code) in kept {
        let test_file = path.file_name().is_some_and(|f| f == "tests.rs")
            || path.iter().any(|p| p == "tests")
            || test_only.iter().any(|t| module.starts_with(t));
        if test_file || module.is_empty() {
            continue;
        }
        for (to, line) in reached(&code, &module) {
            let Some(to) = to.first() else { continue };
            if to != &module[0] {
                all.push(Import {
                    from: module[0].clone(),
                    to: to.clone(),
                    at: format!("src/{}:{line}", path.display()),
                });
            }
        }
    }
    all.sort();
    all
}

/// The `.rs` files under `src/` (except `main.rs`, the binary, which imports the library by name).
fn sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).unwrap().to_path_buf();
                if relative != Path::new("main.rs") {
                    out.push((relative, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
    }
    let src = root().join("src");
    let mut out = Vec::new();
    walk(&src, &src, &mut out);
    out.sort();
    out
}

/// What is wrong: imports the table does not allow, modules without a row, rows without a
/// module, and cycles in the table.
fn violations(files: &[(PathBuf, String)], table: &Table) -> Vec<String> {
    let mut problems = Vec::new();
    let lib = &files
        .iter()
        .find(|(p, _)| p == Path::new("lib.rs"))
        .expect("src/lib.rs")
        .1;
    let modules: BTreeSet<String> = without_tests(&code_of(lib), &mut Vec::new())
        .lines()
        .filter_map(|l| l.trim().strip_suffix(';')?.split("mod ").nth(1))
        .map(|m| m.trim().to_string())
        .collect();
    for m in modules.iter().filter(|m| !table.contains_key(*m)) {
        problems.push(format!("src/{m}: no row in the layer table"));
    }
    for m in table.keys().filter(|m| !modules.contains(*m)) {
        problems.push(format!("{m}: a row for a module that does not exist"));
    }
    for import in imports(files) {
        if !table
            .get(&import.from)
            .is_some_and(|a| a.contains(&import.to))
        {
            problems.push(format!(
                "{}: {} imports {}, which the layer table does not allow",
                import.at, import.from, import.to
            ));
        }
    }
    if let Some(cycle) = cycle(table) {
        problems.push(format!(
            "the layer table has a cycle: {}",
            cycle.join(" -> ")
        ));
    }
    problems.dedup();
    problems
}

/// A cycle of the table's "may import" relation, if any (depth-first search).
fn cycle(table: &Table) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        table: &Table,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        stack.push(m.to_string());
        for next in table.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, table, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    table
        .keys()
        .find_map(|m| visit(m, table, &mut Vec::new(), &mut done))
}

fn the_table() -> Table {
    let doc = std::fs::read_to_string(root().join("docs/architecture.md")).unwrap();
    table(&doc)
}

#[test]
fn every_import_in_src_is_one_the_layer_table_allows() {
    let files = sources();
    let table = the_table();
    assert!(table.len() > 10, "the table was read: {table:?}");
    let problems = violations(&files, &table);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check sees the imports there are (not trivially none).
    let found = imports(&files);
    assert!(
        found
            .iter()
            .any(|i| i.from == "schedule" && i.to == "wechat"),
        "{found:?}"
    );
}

#[test]
fn an_upward_import_fails_the_check() {
    let table = the_table();
    let mut files = sources();
    // A throwaway import of the metrics store from the datacube layer.
    files.push((
        PathBuf::from("wechat/upward.rs"),
        "//! Throwaway.\nuse crate::metrics::Store;\n".into(),
    ));
    let problems = violations(&files, &table);
    assert_eq!(
        problems,
        ["src/wechat/upward.rs:2: wechat imports metrics, which the layer table does not allow"]
    );
    // `super::` is resolved too, and test code is not held to the table.
    files.pop();
    files.push((
        PathBuf::from("wechat/token/upward.rs"),
        "use super::super::super::app::Runtime;\n#[cfg(test)]\nmod tests {\n    use crate::app::Exporter;\n}\n".into(),
    ));
    let problems = violations(&files, &table);
    assert_eq!(
        problems,
        ["src/wechat/token/upward.rs:1: wechat imports app, which the layer table does not allow"]
    );
}

#[test]
fn a_cycle_in_the_table_is_found() {
    let mut table = the_table();
    table.get_mut("clock").unwrap().insert("app".into());
    let problems = violations(&sources(), &table);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("the layer table has a cycle")),
        "{problems:?}"
    );
}
