//! What the CLI tests share: a migrations folder in a temporary directory, and the real
//! binary run on it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A migrations folder in a temporary directory, removed when dropped.
pub struct Folder(pub PathBuf);

impl Folder {
    pub fn new(name: &str, files: &[(&str, &str)]) -> Folder {
        let dir = std::env::temp_dir().join(format!("pgstrata-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (f, text) in files {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `pgstrata ARGS DIR` with `DATABASE_URL` set to `url` (or unset).
pub fn pgstrata(url: Option<&str>, args: &[&str], dir: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgstrata"));
    cmd.args(args).arg(dir).env_remove("DATABASE_URL");
    if let Some(url) = url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().unwrap()
}

/// What a run printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `status --format json`: its exit code and (version, state) per migration.
pub fn states(url: &str, dir: &Path) -> (i32, Vec<(i64, String)>) {
    let o = pgstrata(Some(url), &["status", "--format", "json"], dir);
    let json: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let rows = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_i64().unwrap(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (o.status.code().unwrap(), rows)
}
