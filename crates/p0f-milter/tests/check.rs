//! `p0f-mailpolicy --check` warns about block and greylist patterns that
//! match no OS label of the signature database. The databases here are
//! written by the test, so the labels are known whatever the built-in
//! database holds.

use std::process::Command;

fn check(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_p0f-mailpolicy"))
        .arg("--check")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[test]
fn warns_about_patterns_no_label_matches() {
    let dir = tempfile::tempdir().unwrap();
    let fp = dir.path().join("test.fp");
    std::fs::write(
        &fp,
        "classes = win,unix\n\n[tcp:request]\n\
         label = s:win:Windows:7 or 8\nsig = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n\
         label = s:unix:Solaris:\nsig = *:64:0:*:32850,1:nop,ws,nop,nop,ts,nop,nop,sok,mss:df:0\n",
    )
    .unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(
        &cfg,
        "blocked_os = [\"/windoze/\", \"Windows 7 or 8\", \"Solaris\"]\n\
         [[p0f]]\nsocket = \"/run/p0f.sock\"\n\
         [listen]\npolicy = [\"inet:127.0.0.1:10031\"]\n\
         [greylist]\n[[greylist.rule]]\nos = \"/linux/\"\n[[greylist.rule]]\nos = \"/^windows/\"\n",
    )
    .unwrap();
    let (ok, out, err) = check(&[
        "-c",
        cfg.to_str().unwrap(),
        "--signatures",
        fp.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("configuration OK"), "{out}");
    assert!(
        out.contains("greylisting: 2 rule(s), store embedded"),
        "{out}"
    );
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings[0].contains("block pattern /windoze/ matches no OS label"),
        "{err}"
    );
    assert!(
        warnings[1].contains("[[greylist.rule]] #1: greylist pattern /linux/ matches no OS label"),
        "{err}"
    );

    // A database that does not load is an error naming the line.
    let bad = dir.path().join("bad.fp");
    std::fs::write(&bad, "[tcp:request]\nlabel = nonsense\n").unwrap();
    let (ok, _, err) = check(&[
        "-c",
        cfg.to_str().unwrap(),
        "--signatures",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("--signatures") && err.contains(":2"), "{err}");
}
