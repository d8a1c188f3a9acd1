//! `pgstrata.toml`, next to `Cargo.toml`: overrides for types, columns and names.
//!
//! ```toml
//! datetime = "chrono"            # or "time"
//!
//! [types]                        # any PostgreSQL type, as format_type spells it
//! citext = "String"
//! "public.geometry" = "my_crate::Geometry"
//!
//! [columns]                      # one column: table.column or schema.table.column
//! "users.settings" = "my_crate::Settings"
//!
//! [names]                        # the row struct of a table
//! "users" = "Account"
//!
//! [lint]
//! allow = ["rename-column"]      # rules off for the whole project
//! deny_in_build = false          # findings of severity error fail embed_migrations!
//! [lint.severity]
//! "drop-column" = "error"        # error | warning | off
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::diag::Diagnostic;

/// The file's name.
pub const FILE: &str = "pgstrata.toml";

/// Which crate date and time columns map to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateTime {
    /// `chrono` (the default).
    #[default]
    Chrono,
    /// `time`.
    Time,
}

/// The configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Date and time crate.
    #[serde(default)]
    pub datetime: DateTime,
    /// PostgreSQL type -> Rust path.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// `[schema.]table.column` -> Rust path.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// `[schema.]table` -> struct name.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
    /// The lints.
    #[serde(default)]
    pub lint: LintConfig,
    /// `query!` and `query_as!`.
    #[serde(default)]
    pub queries: QueriesConfig,
}

/// `[queries]`: how `query!` names the generated types it uses.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueriesConfig {
    /// The path of the module `embed_migrations!` expands in, plus `::schema`
    /// (`"crate::db::schema"`), so that generated enums in `query!` results are named
    /// from anywhere. Without it they are named bare, and the call site needs
    /// `use crate::db::schema::*`.
    #[serde(default)]
    pub schema: Option<String>,
}

/// `[lint]`: which rules apply, how severe they are, and whether the build fails.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintConfig {
    /// Rules turned off for the whole project.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Severity per rule: `error`, `warning` or `off`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// Whether `embed_migrations!` turns findings of severity error into compile errors
    /// (it is quiet otherwise; the build script's `Builder::lint` prints warnings).
    #[serde(default)]
    pub deny_in_build: bool,
}

impl Config {
    /// Reads `pgstrata.toml` from `dir`; the default when there is none.
    ///
    /// # Errors
    /// The file exists but cannot be read or is not valid.
    pub fn load(dir: &Path) -> Result<(Config, Option<std::path::PathBuf>), Diagnostic> {
        let path = dir.join(FILE);
        if !path.is_file() {
            return Ok((Config::default(), None));
        }
        Config::load_file(&path, FILE)
    }

    /// Reads a config file that must exist; `shown` is how messages name it.
    ///
    /// # Errors
    /// The file cannot be read or is not valid.
    pub fn load_file(
        path: &Path,
        shown: &str,
    ) -> Result<(Config, Option<std::path::PathBuf>), Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::file(shown, format!("cannot be read: {e}"))
                .help("check the path (relative to Cargo.toml) and permissions")
        })?;
        let config = Config::parse(&text).map_err(|d| Diagnostic {
            file: shown.to_string(),
            ..d
        })?;
        Ok((config, Some(path.to_path_buf())))
    }

    /// Parses the file's text.
    ///
    /// # Errors
    /// Not valid TOML, or keys pgstrata does not know.
    pub fn parse(text: &str) -> Result<Config, Diagnostic> {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let mut d = Diagnostic::at(FILE, text, 1, offset, e.message().to_string());
            d.help = Some(
                "known keys: datetime = \"chrono\" | \"time\", [types], [columns], [names], [lint] (allow, deny_in_build, [lint.severity]), [queries] (schema)".into(),
            );
            d
        })
    }

    /// Every Rust path in the file must parse as a type.
    ///
    /// # Errors
    /// The first one that does not.
    pub fn check_paths(&self) -> Result<(), Diagnostic> {
        for (section, map) in [("types", &self.types), ("columns", &self.columns)] {
            for (k, v) in map {
                if syn::parse_str::<syn::Type>(v).is_err() {
                    return Err(Diagnostic::file(
                        FILE,
                        format!("[{section}] {k:?} = {v:?} is not a Rust type"),
                    )
                    .help("write a type path such as \"String\" or \"my_crate::Email\""));
                }
            }
        }
        for (k, v) in &self.names {
            if syn::parse_str::<syn::Ident>(v).is_err() {
                return Err(Diagnostic::file(
                    FILE,
                    format!("[names] {k:?} = {v:?} is not a Rust identifier"),
                )
                .help("write a struct name such as \"Account\""));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let c = Config::parse(
            "datetime = \"time\"\n[types]\ncitext = \"String\"\n[columns]\n\"users.settings\" = \"my::S\"\n[names]\nusers = \"Account\"\n",
        )
        .unwrap();
        assert_eq!(c.datetime, DateTime::Time);
        assert_eq!(c.types["citext"], "String");
        assert_eq!(c.columns["users.settings"], "my::S");
        assert_eq!(c.names["users"], "Account");
        c.check_paths().unwrap();
    }

    #[test]
    fn unknown_keys_and_bad_paths_are_errors() {
        let e = Config::parse("dattime = \"time\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("dattime"), "{e}");
        let c = Config::parse("[columns]\n\"a.b\" = \"not a type!\"\n").unwrap();
        assert!(c
            .check_paths()
            .unwrap_err()
            .message
            .contains("not a Rust type"));
    }
}
