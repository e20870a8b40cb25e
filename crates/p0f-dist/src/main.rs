//! `p0f-dist OUTDIR`: writes the man pages and shell completions of the
//! three installed programs, under the names the Debian package installs
//! them as (`p0f-rs`, `p0f-rs-client`, `p0f-mailpolicy`), into
//! `OUTDIR/man` and `OUTDIR/completions`.
//!
//! Why a crate of its own: the pages must come from the very clap
//! definitions the programs parse with, so those files are compiled in
//! here (`#[path]` modules) rather than kept in sync by hand, and the
//! programs themselves carry no page-generating code. The Debian package's
//! metadata lives in this crate's Cargo.toml for the same reason: it is
//! about the distribution, not about any one program.

use std::fs;
use std::io;
use std::path::Path;
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;

#[allow(dead_code)]
#[path = "../../p0f-cli/src/args.rs"]
mod p0f_args;

#[allow(dead_code)]
#[path = "../../p0f-cli/src/client_args.rs"]
mod client_args;

#[allow(dead_code)]
#[path = "../../p0f-milter/src/args.rs"]
mod mailpolicy_args;

/// What the Debian package says about its program names (the man pages
/// carry it too).
const INSTALLED_AS: &str = "\
In the Debian package p0f-rs this program is installed as p0f-rs (and its
client as p0f-rs-client), so that it coexists with Debian's p0f package.
Scripts that run 'p0f' or 'p0f-client' can be pointed at it with a
symbolic link of their own or a PATH entry; see the README.";

/// One installed program: its page, its section and its command line.
struct Program {
    name: &'static str,
    section: &'static str,
    command: Command,
}

fn programs() -> Vec<Program> {
    let p0f = p0f_args::Cli::command();
    let p0f_help = p0f
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    vec![
        Program {
            name: "p0f-rs",
            section: "1",
            command: p0f
                .name("p0f-rs")
                .bin_name("p0f-rs")
                .after_help(format!("{p0f_help}\n\n{INSTALLED_AS}")),
        },
        Program {
            name: "p0f-rs-client",
            section: "1",
            command: client_args::command()
                .name("p0f-rs-client")
                .bin_name("p0f-rs-client")
                .override_usage("p0f-rs-client /path/to/socket host_ip")
                .after_help(INSTALLED_AS),
        },
        Program {
            name: "p0f-mailpolicy",
            section: "8",
            command: mailpolicy_args::Args::command().after_help(
                "Configuration: /etc/p0f-mailpolicy/p0f-mailpolicy.toml in the Debian \
                 package (see the example there); the systemd unit p0f-mailpolicy.service \
                 runs it as its own user. See /usr/share/doc/p0f-rs/mail-policy.md.",
            ),
        },
    ]
}

fn write_all(out: &Path) -> io::Result<()> {
    let man = out.join("man");
    let comp = out.join("completions");
    fs::create_dir_all(&man)?;
    fs::create_dir_all(&comp)?;
    for mut p in programs() {
        let page = clap_mangen::Man::new(p.command.clone()).section(p.section);
        let mut text = Vec::new();
        page.render(&mut text)?;
        fs::write(man.join(format!("{}.{}", p.name, p.section)), text)?;
        for (shell, file) in [
            (Shell::Bash, format!("{}.bash", p.name)),
            (Shell::Zsh, format!("_{}", p.name)),
            (Shell::Fish, format!("{}.fish", p.name)),
        ] {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut p.command, p.name, &mut text);
            // Nothing to complete (fish does not complete bare positionals).
            if !text.is_empty() {
                fs::write(comp.join(file), text)?;
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, out] = &args[..] else {
        eprintln!("usage: p0f-dist OUTDIR (writes OUTDIR/man and OUTDIR/completions)");
        return ExitCode::from(2);
    };
    match write_all(Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p0f-dist: cannot write to {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page and completion is written, names the installed program
    /// and documents every option of its command line.
    #[test]
    fn pages_and_completions_cover_every_option() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path()).unwrap();
        for p in programs() {
            let page = fs::read_to_string(dir.path().join(format!("man/{}.{}", p.name, p.section)))
                .unwrap();
            assert!(page.starts_with(".ie \\n(.g .ds Aq"), "not roff:\n{page}");
            assert!(
                page.contains(&format!(".TH {} {}", p.name, p.section)),
                "{page}"
            );
            for arg in p.command.get_arguments() {
                // roff escapes every '-'.
                let shown = match (arg.get_short(), arg.get_long()) {
                    (_, Some(l)) => format!("\\-\\-{}", l.replace('-', "\\-")),
                    (Some(s), None) => format!("\\-{s}"),
                    (None, None) => arg
                        .get_value_names()
                        .and_then(|v| v.first())
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| arg.get_id().to_string()),
                };
                assert!(page.contains(&shown), "{}: {shown} not in the page", p.name);
            }
            let bash = fs::read_to_string(dir.path().join(format!("completions/{}.bash", p.name)))
                .unwrap();
            assert!(
                bash.contains(&format!("complete -F _{}", p.name.replace('-', "__"))),
                "{bash}"
            );
        }
        let rs = fs::read_to_string(dir.path().join("man/p0f-rs.1")).unwrap();
        assert!(rs.contains("coexists with Debian"));
        assert!(rs.contains("\\-\\-bug\\-compat"));
    }
}
