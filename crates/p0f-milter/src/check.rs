//! `--check`: patterns that can never match.
//!
//! A block or greylist pattern that matches no OS label of the signature
//! database the daemon uses (`--signatures FILE`, else the built-in
//! database of p0f-sigdb) is almost always a typo (`Windos`) or a label
//! that a database update renamed; the service would run without error and
//! never block or greylist anything. `--check` lists them.

use p0f_policy::config::BlockPattern;
use p0f_policy::PolicyConfig;
use p0f_sigdb::Database;

/// Every genre p0f can report with this database: `name flavor` of each OS
/// label, or just `name` when it has no flavor (as the v3 record builds it).
pub fn genres(db: &Database) -> Vec<String> {
    let mut out: Vec<String> = db
        .labels
        .iter()
        .filter(|l| l.class.is_some())
        .filter_map(|l| {
            let name = db.names.get(l.name as usize)?;
            Some(match l.flavor.as_deref().map(str::trim) {
                Some(f) if !f.is_empty() => format!("{name} {f}"),
                _ => name.clone(),
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn describe(p: &BlockPattern) -> String {
    match p {
        BlockPattern::Exact(e) => format!("{e:?}"),
        BlockPattern::Regex(r) => format!("/{}/", r.as_str()),
    }
}

/// One warning per pattern that matches none of `genres`.
pub fn unmatched_patterns(cfg: &PolicyConfig, genres: &[String]) -> Vec<String> {
    let dead = |p: &BlockPattern| !genres.iter().any(|g| p.matches(g));
    let mut out = Vec::new();
    for r in &cfg.rules {
        if dead(&r.pattern) {
            out.push(format!(
                "{}: block pattern {} matches no OS label of the signature database",
                r.origin,
                describe(&r.pattern)
            ));
        }
    }
    if let Some(g) = &cfg.greylist {
        for r in &g.rules {
            if let Some(p) = r.os.as_ref().filter(|p| dead(p)) {
                out.push(format!(
                    "{}: greylist pattern {} matches no OS label of the signature database",
                    r.origin,
                    describe(p)
                ));
            }
        }
    }
    out
}
