//! `contactpoint serve`'s settings from an optional TOML file (`--config`), beneath the
//! environment (`CONTACTPOINT_…`) and the flags, and the effective settings as printed at start.
//!
//! A setting in the file is named as its flag (`listen`, `trust-proxy`; `_` may stand for
//! `-`) and is handed to the same parser as a flag would be, so the file is checked exactly as
//! the command line is. All of `serve`'s settings are printed; the one that may hold a secret, a
//! PostgreSQL URL's password in `db`, is printed masked.

use std::ffi::OsString;

use anyhow::{Context, Result, bail};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::Cli;

/// Parses the command line, with the settings file's values for what neither a flag nor the
/// environment gave; returns it with the effective `serve` settings as `name=value (source)`.
pub fn parse() -> Result<(Cli, Vec<String>)> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let command = Cli::command();
    let serve_cmd = command.find_subcommand("serve").context("no serve command")?;
    let matches = Cli::command().try_get_matches_from(&args).unwrap_or_else(|e| e.exit());
    let mut from_file = Vec::new();
    if let Some(("serve", serve)) = matches.subcommand()
        && let Some(path) = serve.get_one::<std::path::PathBuf>("config")
    {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the settings file {}", path.display()))?;
        let table: toml::Table =
            text.parse().with_context(|| format!("the settings file {} is not valid TOML", path.display()))?;
        for (key, value) in &table {
            let long = key.replace('_', "-");
            let Some(arg) = serve_cmd.get_arguments().find(|a| a.get_long() == Some(long.as_str())) else {
                let known: Vec<&str> = serve_cmd.get_arguments().filter_map(|a| a.get_long()).collect();
                bail!("{}: unknown setting {key:?}; the settings are: {}", path.display(), known.join(", "));
            };
            if long == "config" {
                bail!("{}: a settings file cannot name another one", path.display());
            }
            let id = arg.get_id().as_str();
            if matches!(serve.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
                continue;
            }
            let flag = format!("--{long}");
            match value {
                toml::Value::Boolean(true) => args.push(flag.into()),
                toml::Value::Boolean(false) => {}
                toml::Value::Array(items) => {
                    for item in items {
                        args.push(flag.clone().into());
                        args.push(scalar(item).with_context(|| format!("{}: {key}", path.display()))?.into());
                    }
                }
                other => {
                    args.push(flag.into());
                    args.push(scalar(other).with_context(|| format!("{}: {key}", path.display()))?.into());
                }
            }
            from_file.push(id.to_owned());
        }
    }
    let matches = Cli::command().try_get_matches_from(&args).unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut settings = Vec::new();
    if let Some(("serve", serve)) = matches.subcommand() {
        for arg in serve_cmd.get_arguments() {
            let id = arg.get_id().as_str();
            let Some(long) = arg.get_long() else { continue };
            let Some(values) = serve.get_raw(id) else { continue };
            let value: Vec<String> = values.map(|v| contactpoint_server::sql::redact(&v.to_string_lossy())).collect();
            let source = if from_file.iter().any(|f| f == id) {
                "file"
            } else {
                match serve.value_source(id) {
                    Some(ValueSource::CommandLine) => "flag",
                    Some(ValueSource::EnvVariable) => "environment",
                    _ => "default",
                }
            };
            settings.push(format!("{long}={} ({source})", value.join(",")));
        }
    }
    Ok((cli, settings))
}

/// A TOML value as the text a flag would take.
fn scalar(v: &toml::Value) -> Result<String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!("expected a string, number or true/false, not {other}"),
    })
}
