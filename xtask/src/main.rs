//! Project automation: `cargo xtask run` starts the product, `cargo xtask test` runs every check
//! and test, `cargo xtask bench` measures. Each installs what it needs or says what is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

mod bench;
mod bench_directory;
mod bench_web;
mod fuzz;
mod web;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [--listen ADDR] [--db PATH]   build the web app and run it on the relay with sample data
                                    (default 127.0.0.1:8080, data/contactpoint.sqlite)
  test                              format checks (Rust, JavaScript), lints, JavaScript types, docs,
                                    wasm32 build, every test, short fuzzing
  web                               build the web app into target/web and print its download size
  check-js                          check the web app's JavaScript: types (tsc, against the wasm
                                    client's declarations from the last web build, building it if
                                    there is none) and formatting (prettier)
  gen-types                         write web/js/types/wasm-types.d.ts, the TypeScript declarations
                                    of the wasm client's JSON, anew from its Rust types
  contactpoint ARGS...              build the relay (release) if needed and run it with ARGS, from
                                    the project directory: cargo xtask contactpoint admin users
  bench [directory|web|relay|attacks|cluster] [--quick]
                                    benchmarks, with figures and ratios against the references
                                    (attacks: the relay under each attack of the threat model,
                                    against a baseline and the relay before hardening; cluster:
                                    one relay on SQLite against 1, 2 and 3 over one PostgreSQL)
  fuzz [--seconds N] [--skip-known-crashes] [TARGET...]
                                    run the fuzz targets in fuzz/ (default 60 s each) and report
                                    the executions each reached";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench_all(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("contactpoint") => contactpoint(&args[1..]),
        Some("web") => {
            ensure_wasm_target()?;
            ensure_npm_packages()?;
            web::build(Path::new(WEB_OUT))?.print();
            Ok(())
        }
        Some("check-js") => {
            ensure_npm_packages()?;
            // The wasm client's declarations come from the last build; without one, it builds.
            if !web::declarations().is_file() {
                ensure_wasm_target()?;
                web::build(Path::new(WEB_OUT))?;
            }
            web::check_js()
        }
        Some("gen-types") => gen_types(),
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

/// Writes the wasm client's TypeScript declarations anew: the test that otherwise compares them
/// with the Rust types (client-wasm/src/types.rs) writes them when told to.
fn gen_types() -> Result<()> {
    step(
        "generate web/js/types/wasm-types.d.ts from the Rust types",
        cargo()
            .args(["test", "--locked", "-p", "contactpoint-client-wasm", "--lib", "types::"])
            .env("CONTACTPOINT_WRITE_TYPES", "1"),
    )
}

/// Where the built web app goes; the relay serves it from there.
pub(crate) const WEB_OUT: &str = "target/web";

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command, echoing it, and fails with its name if it fails.
pub(crate) fn step(name: &str, cmd: &mut Command) -> Result<()> {
    println!("\n==> {name}");
    let started = Instant::now();
    let status = cmd.status().with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    println!("    ({name}: {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn have(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Makes sure rustup has installed `name`, a `target` or a `component` (`kind`), installing it if
/// needed.
fn ensure_rustup(kind: &str, name: &str, what: &str) -> Result<()> {
    match Command::new("rustup").args([kind, "list", "--installed"]).output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == name) => Ok(()),
        Ok(_) => step(&format!("install {what}"), Command::new("rustup").args([kind, "add", name])),
        Err(_) => bail!("rustup is missing: install Rust with rustup, then run `rustup {kind} add {name}`"),
    }
}

/// Makes sure the wasm32 target is installed (rustup installs it if needed).
fn ensure_wasm_target() -> Result<()> {
    ensure_rustup("target", "wasm32-unknown-unknown", "the wasm32 target")
}

/// Makes sure the compiler is recent enough for the app's wasm build and the standard library's
/// sources are installed (rustup adds them if needed): the wasm is built with its own copy of
/// the standard library and options that Rust 1.92 introduced (`web::WASM_RUSTFLAGS`).
pub(crate) fn ensure_rust_src() -> Result<()> {
    let version = Command::new("rustc").arg("-V").output().context("could not run rustc")?;
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    let minor = version.split_whitespace().nth(1).and_then(|v| v.split('.').nth(1)).and_then(|m| m.parse::<u32>().ok());
    if minor.is_some_and(|m| m < 92) {
        bail!("the app's wasm build needs Rust 1.92 or later, this is {}: run `rustup update`", version.trim());
    }
    ensure_rustup("component", "rust-src", "the standard library's sources (rust-src)")
}

/// Installs the JavaScript packages the interop tests, the web build (esbuild, wasm-opt), its checks
/// (tsc, prettier) and the benchmarks use, from the lock file.
fn ensure_npm_packages() -> Result<()> {
    if !have("node") || !have("npm") {
        bail!("Node.js 20.19+ and npm are needed for the JavaScript tests: on Debian, `apt-get install nodejs npm`");
    }
    let lock = Path::new("tests/js/package-lock.json");
    let marker = Path::new("tests/js/node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(lock), std::fs::metadata(marker)) {
        (Ok(l), Ok(m)) => m.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    step(
        "install JavaScript test packages (npm ci)",
        Command::new("npm").args(["ci", "--prefix", "tests/js", "--no-audit", "--no-fund", "--loglevel=error"]),
    )
}

/// Makes sure Debian's Chromium is there for the browser tests, and poppler's `pdftotext`, which
/// reads back the PDF a print test has Chromium make, installing them when possible.
fn ensure_chromium() -> Result<()> {
    let missing: Vec<&str> = [("/usr/bin/chromium", "chromium"), ("/usr/bin/pdftotext", "poppler-utils")]
        .into_iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| package)
        .collect();
    install_debian(&missing, "the browser tests", "Chromium and pdftotext for the browser tests")
}

/// Makes sure a PostgreSQL server is installed (Debian's `postgresql`): the storage tests run
/// each on SQLite and on a real PostgreSQL, which the tests start themselves.
fn ensure_postgresql() -> Result<()> {
    let installed = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(|d| d.ok()).any(|d| d.path().join("bin/initdb").exists()))
        .unwrap_or(false);
    let missing: &[&str] = if installed { &[] } else { &["postgresql"] };
    install_debian(missing, "the storage tests", "PostgreSQL for the storage tests")
}

/// Installs Debian packages with apt-get when there are any missing and this is root.
fn install_debian(missing: &[&str], needed_by: &str, what: &str) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !have("apt-get") {
        bail!(
            "{needed_by} need Debian's {}: run `apt-get install {}` as root",
            missing.join(" and "),
            missing.join(" ")
        );
    }
    step("update the package lists", Command::new("apt-get").args(["update", "-qq"]))?;
    step(
        &format!("install {what}"),
        Command::new("apt-get").args(["install", "-y", "-qq"]).args(missing).env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn test() -> Result<()> {
    let started = Instant::now();
    ensure_wasm_target()?;
    ensure_npm_packages()?;
    ensure_chromium()?;
    ensure_postgresql()?;
    step("format check", cargo().args(["fmt", "--all", "--check"]))?;
    step(
        "lints (warnings denied)",
        cargo().args(["clippy", "--locked", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    step(
        "documentation (warnings denied)",
        cargo().args(["doc", "--locked", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    step(
        "wasm32 build of the shared crates",
        cargo().args([
            "build",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "contactpoint-protocol",
            "-p",
            "contactpoint-directory",
        ]),
    )?;
    // The end-to-end tests start the relay binary as a real process, serving the built app.
    step("build the relay", cargo().args(["build", "--locked", "-p", "contactpoint-server"]))?;
    let report = web::build(Path::new(WEB_OUT))?;
    println!(
        "    web app: {} KB with brotli, {} KB gzipped in all",
        report.total_brotli() / 1024,
        report.total_gzip() / 1024
    );
    web::check_js()?;
    step("tests", cargo().args(["test", "--locked", "--workspace"]))?;
    // Resident memory per idle device is only meaningful with nothing else running beside it.
    step(
        "idle device memory (alone)",
        cargo().args([
            "test",
            "--locked",
            "-p",
            "contactpoint-tests",
            "--test",
            "e2e",
            "--",
            "--ignored",
            "--exact",
            "idle_memory::an_idle_subscribed_device_costs_the_relay_at_most_4_kib",
        ]),
    )?;
    // A bounded fuzz run of every target: long runs are `cargo xtask fuzz --seconds N`.
    fuzz::run(&["--seconds".to_owned(), "20".to_owned(), "--seed".to_owned(), "1".to_owned()])?;
    println!("\nall checks and tests passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn run(args: &[String]) -> Result<()> {
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut db = "data/contactpoint.sqlite".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--listen" => listen = it.next().context("--listen needs an address")?.clone(),
            "--db" => db = it.next().context("--db needs a path")?.clone(),
            other => bail!("unknown option {other:?}\n\n{USAGE}"),
        }
    }
    if !release_relay()?.exists() {
        println!(
            "==> first run on this machine: building the web app and the relay takes several minutes \
             (about 5 on two cores); later runs start in seconds"
        );
    }
    ensure_wasm_target()?;
    ensure_npm_packages()?;
    let report = web::build(Path::new(WEB_OUT))?;
    println!(
        "\n==> web app built: {} KB with brotli, {} KB gzipped",
        report.total_brotli() / 1024,
        report.total_gzip() / 1024
    );
    step("build the relay (release)", cargo().args(["build", "--release", "-p", "contactpoint-server"]))?;
    let bin = release_relay()?;
    println!("\n==> starting the relay (Ctrl-C stops it)");
    let status =
        Command::new(bin).args(["serve", "--seed", "--listen", &listen, "--db", &db, "--web", WEB_OUT]).status()?;
    if !status.success() {
        bail!("the relay exited with {status}");
    }
    Ok(())
}

/// Where `cargo build --release` puts the relay, `CARGO_TARGET_DIR` respected.
fn release_relay() -> Result<std::path::PathBuf> {
    Ok(bench::target_dir()?.join("release").join("contactpoint"))
}

/// `cargo xtask contactpoint ARGS…`: the relay's command line without knowing where the binary is
/// (`target/release/contactpoint`), built first if needed (quietly when it is up to date).
fn contactpoint(args: &[String]) -> Result<()> {
    let built = cargo().args(["build", "--release", "--quiet", "-p", "contactpoint-server"]).status()?;
    if !built.success() {
        bail!("building the relay failed");
    }
    let status = Command::new(release_relay()?).args(args).status()?;
    std::process::exit(status.code().unwrap_or(1));
}

/// The benchmarks' options that take a value, as written with a space (`--only ours`) or with
/// `=` (`--only=ours`).
const BENCH_VALUE_OPTIONS: [&str; 6] = ["--only", "--relay-bin", "--before-bin", "--out", "--workloads", "--attacks"];

/// The arguments with every value joined to its option (`--only ours` → `--only=ours`): the
/// options are passed on to each benchmark apart from the names, so a value must travel with
/// its option rather than be taken for the name of a benchmark.
fn joined_values(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        match it.peek() {
            Some(v) if BENCH_VALUE_OPTIONS.contains(&a.as_str()) && !v.starts_with("--") => {
                out.push(format!("{a}={v}"));
                it.next();
            }
            _ => out.push(a.clone()),
        }
    }
    out
}

/// `cargo xtask bench [directory|web|relay|attacks|cluster] [--quick]`: the directory's search,
/// resolution and document sizes; the web app's download, offline cold start and search in
/// Chromium; the relay against the reference server; the relay under attack; one relay on SQLite
/// against several over one PostgreSQL.
fn bench_all(args: &[String]) -> Result<()> {
    /// Options only the relay benchmark takes.
    const RELAY_ONLY: [&str; 2] = ["--only", "--instructions"];
    let args = &joined_values(args);
    let quick = args.iter().any(|a| a == "--quick");
    let only = args.iter().find(|a| !a.starts_with("--")).map(String::as_str);
    if only.is_none_or(|o| o == "directory") {
        ensure_npm_packages()?;
        let figures = bench_directory::run(quick)?;
        std::fs::create_dir_all("target/bench")?;
        std::fs::write("target/bench/directory.json", serde_json::to_string_pretty(&figures)?)?;
    }
    if only.is_none_or(|o| o == "web") {
        ensure_npm_packages()?;
        ensure_chromium()?;
        web::build(Path::new(WEB_OUT))?;
        bench_web::run(quick)?;
    }
    if only.is_none_or(|o| o == "relay") {
        let rest: Vec<String> = args.iter().filter(|a| a.starts_with("--")).cloned().collect();
        bench::run(&rest)?;
    }
    // Options of the relay benchmark alone (`--only`, `--instructions`) are not passed on to the
    // others when all benchmarks run; named on their own, the others still refuse them.
    let others: Vec<String> = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .filter(|a| only.is_some() || !RELAY_ONLY.contains(&a.split('=').next().unwrap_or(a)))
        .cloned()
        .collect();
    if only.is_none_or(|o| o == "attacks") {
        bench::attacks::run(&others)?;
    }
    if only.is_none_or(|o| o == "cluster") {
        ensure_postgresql()?;
        bench::cluster::run(&others)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    /// `--only ours` reaches the relay benchmark as one option, not as the option and a name.
    #[test]
    fn a_value_written_after_a_space_travels_with_its_option() {
        assert_eq!(
            joined_values(&strings(&["relay", "--only", "ours", "--quick", "--out", "f.json"])),
            strings(&["relay", "--only=ours", "--quick", "--out=f.json"])
        );
        assert_eq!(joined_values(&strings(&["--only=reference", "relay"])), strings(&["--only=reference", "relay"]));
        // A flag followed by a benchmark's name keeps the name; an option missing its value is
        // left for the benchmark to refuse.
        assert_eq!(joined_values(&strings(&["--quick", "web"])), strings(&["--quick", "web"]));
        assert_eq!(joined_values(&strings(&["relay", "--only", "--quick"])), strings(&["relay", "--only", "--quick"]));
    }
}
