//! The documents' links: every relative link in README.md, the other top-level documents and
//! docs/**/*.md points at a file or folder that exists, and every `#anchor` (in the same page or
//! another Markdown page) at a heading there, by GitHub's slug rules. Every page under docs/ is
//! listed in docs/SUMMARY.md (the mdBook table of contents). No network: links with a scheme
//! (`https:`, `mailto:`) are not followed.
//!
//! Markdown is parsed with pulldown-cmark, so links inside code blocks, inline code and HTML
//! comments are not links, as on GitHub.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::root;

/// GitHub's heading anchor: lower-case, every character that is not a letter, digit, space, `-`
/// or `_` dropped, spaces made `-` (github-slugger; the text is the heading as rendered, so code
/// spans count by their content and links by their text).
fn slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// A page's anchors: each heading's slug, the second and later headings of the same slug with
/// `-1`, `-2`, ... as GitHub numbers them.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::all()) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let n = seen.entry(base.clone()).or_insert(0);
                out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
                *n += 1;
            }
            _ => {}
        }
    }
    out
}

/// Every link and image target in a page, with the line it is on.
fn links(markdown: &str) -> Vec<(usize, String)> {
    let line_of = |offset: usize| markdown[..offset].matches('\n').count() + 1;
    Parser::new_ext(markdown, Options::all())
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some((line_of(range.start), dest_url.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// README.md and the other top-level documents, and every page under docs/.
fn pages() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out: Vec<PathBuf> =
        ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"].iter().map(|p| root().join(p)).collect();
    walk(&root().join("docs"), &mut out);
    out
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with one link of `page`, if anything.
fn check_link(page: &Path, target: &str, anchors_of: &mut dyn FnMut(&Path) -> BTreeSet<String>) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = match target.split_once('#') {
        Some((f, a)) => (f, Some(a)),
        None => (target, None),
    };
    let resolved = if file.is_empty() { page.to_path_buf() } else { normalise(&page.parent().unwrap().join(file)) };
    if !resolved.exists() {
        return Some(format!("`{target}`: no file {}", resolved.display()));
    }
    let anchor = anchor?;
    if resolved.extension().is_none_or(|e| e != "md") {
        return Some(format!("`{target}`: an anchor into {}, which is not a Markdown page", resolved.display()));
    }
    let known = anchors_of(&resolved);
    if known.contains(anchor) {
        return None;
    }
    let near: Vec<&String> = known.iter().filter(|a| a.contains(anchor) || anchor.contains(a.as_str())).collect();
    Some(format!("`{target}`: no heading `#{anchor}` in {} (near: {near:?})", resolved.display()))
}

#[test]
fn every_relative_link_and_anchor_in_the_documents_resolves() {
    let mut cache: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut anchors_of = |p: &Path| {
        cache.entry(p.to_path_buf()).or_insert_with(|| anchors(&std::fs::read_to_string(p).unwrap())).clone()
    };
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for (line, target) in links(&text) {
            checked += 1;
            if let Some(why) = check_link(&page, &target, &mut anchors_of) {
                broken.push(format!("{}:{line}: {why}", page.strip_prefix(root()).unwrap().display()));
            }
        }
    }
    assert!(checked > 100, "only {checked} links found in the documents: is the Markdown parsed?");
    assert!(broken.is_empty(), "{} broken links of {checked}:\n{}", broken.len(), broken.join("\n"));
}

#[test]
fn every_page_under_docs_is_in_the_summary() {
    let docs = root().join("docs");
    let summary = docs.join("SUMMARY.md");
    let listed: BTreeSet<PathBuf> = links(&std::fs::read_to_string(&summary).unwrap())
        .into_iter()
        .map(|(_, t)| normalise(&docs.join(t.split('#').next().unwrap())))
        .collect();
    let missing: Vec<String> = pages()
        .into_iter()
        .filter(|p| p.starts_with(&docs) && *p != summary && !listed.contains(p))
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(missing.is_empty(), "pages under docs/ not listed in docs/SUMMARY.md: {missing:?}");
}

#[test]
fn slugs_follow_github_rules() {
    let cases = [
        ("Two commands", "two-commands"),
        (
            "`switchyard simulate --engine des`: the discrete-event engine",
            "switchyard-simulate---engine-des-the-discrete-event-engine",
        ),
        ("Per-request output (`simulate --per-request`)", "per-request-output-simulate---per-request"),
        (
            "Report JSON (`simulate --json`, schema `switchyard.simulate.v1`)",
            "report-json-simulate---json-schema-switchyardsimulatev1",
        ),
        ("Gateway settings: what to copy from your gateway", "gateway-settings-what-to-copy-from-your-gateway"),
        ("max_concurrency & rpm", "max_concurrency--rpm"),
    ];
    for (heading, expected) in cases {
        assert_eq!(slug(heading), expected, "slug of {heading:?}");
    }
    // Links count by their text, and a repeated heading gets -1.
    let page = "# A [linked](x.md) heading\n\n## Notes\n\n### Notes\n\n```\n# not a heading\n```\n";
    let got = anchors(page);
    let want: BTreeSet<String> = ["a-linked-heading", "notes", "notes-1"].iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn links_in_code_and_comments_are_not_links() {
    let page = "[real](a.md) `[code](b.md)`\n\n```\n[block](c.md)\n```\n\n<!-- [hidden](d.md) -->\n";
    let got: Vec<String> = links(page).into_iter().map(|(_, t)| t).collect();
    assert_eq!(got, vec!["a.md".to_string()]);
}

#[test]
fn a_link_to_a_missing_heading_is_reported_with_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.md");
    std::fs::write(&target, "# Real heading\n").unwrap();
    let page = dir.path().join("p.md");
    let mut anchors_of = |p: &Path| anchors(&std::fs::read_to_string(p).unwrap());
    assert_eq!(check_link(&page, "t.md#real-heading", &mut anchors_of), None);
    let why = check_link(&page, "t.md#real-headin", &mut anchors_of).expect("a missing anchor is reported");
    assert!(why.contains("#real-headin") && why.contains("real-heading"), "{why}");
    let why = check_link(&page, "missing.md", &mut anchors_of).expect("a missing file is reported");
    assert!(why.contains("missing.md"), "{why}");
    assert_eq!(check_link(&page, "https://example.com/x.md#nope", &mut anchors_of), None);
}
