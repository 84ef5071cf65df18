//! The `contactpoint` command: `serve` runs the relay, `admin …` administers its database (also
//! while the relay runs, for example over SSH on the relay's machine).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use contactpoint_directory::Area;
use contactpoint_server::auth::{self, InviteSpec, Role};
use contactpoint_server::storage::{self, Db};
use contactpoint_server::{Limits, Relay};
use contactpoint_server::{admin, calendar, content, relay};

mod config;

#[derive(Parser)]
#[command(name = "contactpoint", version, about = "Contact Point relay and administration")]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to standard error: text, or json (one object per line, for a
    /// log collector).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

const DEFAULT_DB: &str = "data/contactpoint.sqlite";

#[derive(Subcommand)]
enum Command {
    /// Run the relay. Every setting may also come from an environment variable
    /// (CONTACTPOINT_LISTEN, …) or from a TOML file (--config); a flag wins over the
    /// environment, which wins over the file.
    Serve {
        /// A TOML file of settings named as the flags (`listen = "0.0.0.0:8080"`,
        /// `trust-proxy = ["127.0.0.1"]`, `seed = true`).
        #[arg(long, env = "CONTACTPOINT_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, env = "CONTACTPOINT_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// SQLite database file (created if missing).
        #[arg(long, env = "CONTACTPOINT_DB", default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Seconds a client has to complete the handshake.
        #[arg(long, env = "CONTACTPOINT_HANDSHAKE_TIMEOUT_SECS", default_value_t = relay::DEFAULT_HANDSHAKE_TIMEOUT_SECS)]
        handshake_timeout_secs: u64,
        /// Sustained messages per second per connection.
        #[arg(long, env = "CONTACTPOINT_RATE_PER_SEC", default_value_t = relay::DEFAULT_RATE_PER_SEC)]
        rate_per_sec: f64,
        /// Largest accepted message in bytes.
        #[arg(long, env = "CONTACTPOINT_MAX_FRAME_BYTES", default_value_t = relay::DEFAULT_MAX_FRAME_BYTES)]
        max_frame_bytes: usize,
        /// Open connections (HTTP and WebSocket) allowed from one client address (IPv6: per
        /// /64). A school behind one NAT address needs room for all its devices.
        #[arg(long, env = "CONTACTPOINT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = contactpoint_server::listen::DEFAULT_PER_ADDRESS)]
        max_connections_per_address: usize,
        /// Open connections allowed in all; lowered at start to what the open-file limit allows.
        #[arg(long, env = "CONTACTPOINT_MAX_CONNECTIONS", default_value_t = contactpoint_server::listen::DEFAULT_TOTAL)]
        max_connections: usize,
        /// Directory of the built web app to serve (as built by `cargo xtask run`).
        #[arg(long, env = "CONTACTPOINT_WEB")]
        web: Option<PathBuf>,
        /// Load the sample data when the database has no documents yet.
        #[arg(long, env = "CONTACTPOINT_SEED")]
        seed: bool,
        /// A reverse proxy's address or block (repeatable; comma-separated in the environment),
        /// such as 127.0.0.1 or 10.0.0.0/8: its X-Forwarded-For is taken as the client's address
        /// for the per-address limits.
        #[arg(long = "trust-proxy", env = "CONTACTPOINT_TRUST_PROXY", value_delimiter = ',', value_name = "CIDR")]
        trust_proxy: Vec<contactpoint_server::listen::Cidr>,
        /// The app's public address, such as `https://contactpoint.example.fi`, for the first
        /// administrator's invite link.
        #[arg(long, env = "CONTACTPOINT_PUBLIC_URL")]
        public_url: Option<String>,
        /// Where people send feedback on the app's accessibility, as the accessibility statement
        /// names it: an e-mail address or a web form's address, such as
        /// `saavutettavuus@kunta.example.fi`. The statement says it is not set until it is.
        #[arg(long, env = "CONTACTPOINT_FEEDBACK_CONTACT", value_name = "ADDRESS")]
        feedback_contact: Option<String>,
        /// Serve `/metrics` (Prometheus text format) on this address, such as 127.0.0.1:9464.
        /// It has no authentication: keep it on a private interface. Off when not given.
        #[arg(long, env = "CONTACTPOINT_METRICS_LISTEN", value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
    },
    /// Export the directory in the Open Referral HSDS 3.0 format.
    Export {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// hsds-json (to standard output) or hsds-csv (a datapackage written to --out).
        #[arg(long, default_value = "hsds-json")]
        format: String,
        /// Directory for the CSV datapackage.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also export the areas' members-only contact points (local cooperation groups and
        /// others marked for area members). Left out by default: an export is easily shared.
        #[arg(long)]
        include_restricted: bool,
    },
    /// Import an HSDS export (a JSON file or a CSV datapackage directory). Everything is
    /// validated first; on any problem nothing is changed and every problem is listed.
    Import {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The JSON file or datapackage directory.
        source: PathBuf,
        /// Load everything into this area's document instead of the documents named in the file.
        #[arg(long)]
        area: Option<String>,
    },
    /// Copy the database, also while the relay serves it, and check the copy.
    Backup {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The backup file to write (replaced only once the new copy has passed its check).
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace a stopped relay's database with a checked backup.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// SQLite database file to replace.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Restore even though another process has the database open.
        #[arg(long)]
        force: bool,
    },
    /// Administer users, invites, devices and documents.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a single-use invite code: for a new user (--role), or for a new device of an
    /// existing user (--user).
    Invite {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// reader, editor or admin.
        #[arg(long, required_unless_present = "user")]
        role: Option<String>,
        /// Area the user belongs to (repeatable): municipality:091 (or just 091), county:90,
        /// police:oulu. Editors edit it; every member reads its members-only contact points
        /// (a county's or police department's members also those of its municipalities).
        #[arg(long = "area")]
        areas: Vec<String>,
        /// The person's display name.
        #[arg(long)]
        name: Option<String>,
        /// Add a device to this existing user (see `admin users`) instead of creating a user; the
        /// user keeps their name, role and areas.
        #[arg(long, conflicts_with_all = ["role", "areas", "name"])]
        user: Option<i64>,
        /// Days until the code expires.
        #[arg(long, default_value_t = admin::DEFAULT_INVITE_DAYS)]
        days: i64,
        /// How many devices may redeem the code.
        #[arg(long, default_value_t = 1)]
        uses: i64,
        /// The app's public address, such as `https://contactpoint.example.fi`: the invite is also printed
        /// as a link to open on the phone.
        #[arg(long, env = "CONTACTPOINT_PUBLIC_URL")]
        url: Option<String>,
    },
    /// Revoke a device: its token stops working and its connections close.
    Revoke {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Device id.
        device: i64,
    },
    /// List users, or create one with `admin users create`.
    #[command(args_conflicts_with_subcommands = true)]
    Users {
        #[command(subcommand)]
        command: Option<UsersCommand>,
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: all their devices stop working and their connections close.
    DisableUser {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// User id.
        user: i64,
    },
    /// List devices (revoke one with `admin revoke ID`).
    Devices {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List areas with their documents and editors.
    Areas {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Query the audit log, newest first.
    Audit {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// Only this user's entries.
        #[arg(long)]
        user: Option<i64>,
        /// Only entries about this area's documents (municipality:091, 091, county:90, …).
        #[arg(long)]
        area: Option<String>,
        /// Only this action (device.revoke) or family of actions (invite, sync).
        #[arg(long)]
        action: Option<String>,
        /// From this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long)]
        since: Option<String>,
        /// Until this day (YYYY-MM-DD, UTC), exclusive.
        #[arg(long)]
        until: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Erase contact points for good (GDPR Art. 17): each affected document is replaced by a new
    /// one without them and with no history, the old one is tombstoned and its data deleted from
    /// the database files. Devices drop their old copies when they next sync.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["contact", "person"])))]
    Erase {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The id of a contact point to erase (repeatable).
        #[arg(long)]
        contact: Vec<String>,
        /// Erase every contact point whose name, description, e-mail or other text names this
        /// person (case and accents do not matter); the matches are listed first.
        #[arg(long)]
        person: Option<String>,
        /// Do not ask for confirmation (for scripts).
        #[arg(long)]
        yes: bool,
        /// Who is erasing, for the audit log (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Register a new document.
    Document {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// index, national, an area such as municipality:091, or an area's members-only
        /// document such as restricted:municipality:091.
        #[arg(long)]
        scope: String,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user without an invite and print their id; then give them a device with
    /// `admin invite --user ID`.
    Create {
        /// SQLite database file.
        #[arg(long, default_value = DEFAULT_DB)]
        db: PathBuf,
        /// The person's display name.
        #[arg(long)]
        name: String,
        /// reader, editor or admin.
        #[arg(long)]
        role: String,
        /// Area the user edits (repeatable; editors need one): municipality:091 (or just 091),
        /// county:90, police:oulu.
        #[arg(long = "area")]
        areas: Vec<String>,
        /// Print JSON instead of the id alone.
        #[arg(long)]
        json: bool,
    },
}

/// The relay's allocator, counted for `/metrics`.
#[global_allocator]
static ALLOCATOR: contactpoint_server::heap::Counting = contactpoint_server::heap::counting();

fn main() -> Result<()> {
    contactpoint_server::heap::install(&ALLOCATOR);
    let (cli, settings) = config::parse()?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        // Colours for a person at a terminal, plain text for a journal or a file.
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    match cli.command {
        Command::Serve {
            config: _,
            listen,
            db,
            handshake_timeout_secs,
            rate_per_sec,
            max_frame_bytes,
            max_connections_per_address,
            max_connections,
            web,
            seed,
            trust_proxy,
            public_url,
            feedback_contact,
            metrics_listen,
        } => {
            println!("{}", contactpoint_server::banner::settings_line(&settings));
            let limits = Limits {
                handshake_timeout: std::time::Duration::from_secs(handshake_timeout_secs),
                rate_per_sec,
                max_frame_bytes,
                ..Limits::default()
            };
            if max_connections == 0 || max_connections_per_address == 0 {
                anyhow::bail!("--max-connections and --max-connections-per-address must be at least 1");
            }
            let net = contactpoint_server::NetLimits {
                trusted_proxies: trust_proxy,
                per_address: max_connections_per_address,
                total: max_connections,
                ..Default::default()
            };
            let link_base = public_url.or_else(|| web.as_ref().map(|_| format!("http://{listen}")));
            serve(ServeOptions {
                listen,
                db_path: db,
                limits,
                net,
                web,
                seed,
                metrics_listen,
                link_base,
                feedback_contact,
            })
        }
        Command::Admin { command } => run_admin(command),
        Command::Export { db, format, out, include_restricted } => {
            export(&db, &format, out.as_deref(), include_restricted)
        }
        Command::Import { db, source, area } => import(&db, &source, area.as_deref()),
        Command::Backup { db, out } => {
            let v = contactpoint_server::backup::backup(&db, &out)?;
            println!(
                "{}: {} bytes, {} documents, schema version {}, integrity check ok",
                out.display(),
                v.bytes,
                v.documents,
                v.schema_version
            );
            Ok(())
        }
        Command::Restore { from, db, force } => {
            let v = contactpoint_server::backup::restore(&from, &db, force)?;
            println!("restored {} ({} documents) into {}", from.display(), v.documents, db.display());
            Ok(())
        }
    }
}

fn parse_role(role: &str) -> Result<Role> {
    Role::parse(role).ok_or_else(|| anyhow::anyhow!("--role must be reader, editor or admin, not {role:?}"))
}

fn open(db: &std::path::Path) -> Result<Db> {
    Db::open(db).with_context(|| {
        format!("cannot open the database {}", contactpoint_server::sql::redact(&db.to_string_lossy()))
    })
}

fn today() -> String {
    // The sample data's dates are Finland's, as the app's are.
    calendar::finland_date(storage::now_ms())
}

/// `YYYY-MM-DD` (UTC) to milliseconds since the epoch at the start of that day.
fn export(db: &std::path::Path, format: &str, out: Option<&std::path::Path>, include_restricted: bool) -> Result<()> {
    let db = open(db)?;
    let dirs = db.with(|c| content::export_directories(c, include_restricted))?;
    match (format, out) {
        ("hsds-json", _) => println!("{}", contactpoint_directory::hsds::export_json(&dirs)),
        ("hsds-csv", Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let files = contactpoint_directory::hsds::export_datapackage(&dirs);
            for (name, text) in &files {
                std::fs::write(dir.join(name), text).with_context(|| format!("cannot write {name}"))?;
            }
            eprintln!("wrote {} files to {}", files.len(), dir.display());
        }
        ("hsds-csv", None) => bail!("--format hsds-csv needs --out DIR"),
        (other, _) => bail!("unknown --format {other:?}: use hsds-json or hsds-csv"),
    }
    Ok(())
}

fn import(db: &std::path::Path, source: &std::path::Path, area: Option<&str>) -> Result<()> {
    let area: Option<Area> = area.map(str::parse).transpose()?;
    let parsed = if source.is_dir() {
        let mut files = std::collections::BTreeMap::new();
        for e in std::fs::read_dir(source).with_context(|| format!("cannot read {}", source.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".csv") || name.ends_with(".json") {
                files.insert(name, std::fs::read_to_string(e.path())?);
            }
        }
        contactpoint_directory::hsds::import_datapackage(&files)
    } else {
        let text = std::fs::read_to_string(source).with_context(|| format!("cannot read {}", source.display()))?;
        contactpoint_directory::hsds::import_json(&text)
    };
    let dirs = parsed.map_err(|issues| {
        let lines: Vec<String> =
            issues.iter().map(|i| format!("  {}: {}: {}", i.location, i.field, i.message)).collect();
        anyhow::anyhow!("the import has {} problem(s); nothing was changed:\n{}", lines.len(), lines.join("\n"))
    })?;
    let db = open(db)?;
    let report = db.with(|c| Ok(content::import(c, dirs, area.as_ref())))?.map_err(|e| match e {
        content::ImportError::Invalid(p) => {
            anyhow::anyhow!("the import has {} problem(s); nothing was changed:\n  {}", p.len(), p.join("\n  "))
        }
        other => other.into(),
    })?;
    for (key, orgs, contacts) in &report.documents {
        let created = if report.created.contains(key) { " (created)" } else { "" };
        println!("{key}{created}: {orgs} organisations, {contacts} contact points");
    }
    Ok(())
}

/// What `serve` runs with, once the settings are read.
struct ServeOptions {
    listen: SocketAddr,
    db_path: PathBuf,
    limits: Limits,
    net: contactpoint_server::NetLimits,
    web: Option<PathBuf>,
    seed: bool,
    metrics_listen: Option<SocketAddr>,
    /// Where the app is reached, for the first administrator's invite link.
    link_base: Option<String>,
    /// The accessibility statement's feedback address.
    feedback_contact: Option<String>,
}

fn serve(options: ServeOptions) -> Result<()> {
    let ServeOptions { listen, db_path, limits, net, web, seed, metrics_listen, link_base, feedback_contact } = options;
    if let Some(w) = &web
        && !w.join("index.html").exists()
    {
        bail!("{} has no index.html: build the web app first (cargo xtask run does)", w.display());
    }
    let db = open(&db_path)?;
    if seed && let Some(index) = db.with(|c| content::seed_if_empty(c, &today()))? {
        println!("Loaded the sample data (index document {index}). Every sample contact is marked as example data.");
    }
    // Members-only entries from before they had documents of their own leave the open ones.
    let moved = db.with(|c| Ok(content::move_members_only(c)))?.context("moving members-only entries")?;
    for m in &moved {
        println!(
            "Moved {} members-only contact point(s) of {} from {} into its members-only document {}; {} replaces {}.",
            m.contacts.len(),
            m.area,
            m.from,
            m.to,
            m.rotated_to,
            m.from
        );
    }
    if db.with(|c| admin::has_no_users(c))? {
        let code =
            db.with(|c| Ok(admin::first_admin_invite(c)))?.context("creating the first administrator's invite")?;
        println!(
            "No users yet. First administrator's invite code (valid {} days, single use):",
            admin::DEFAULT_INVITE_DAYS
        );
        println!();
        println!("{}", contactpoint_server::banner::invite_line(&code));
        println!();
        if let Some(base) = link_base.filter(|b| !b.ends_with(":0")) {
            println!("or open {}", admin::invite_link(&base, &code));
        }
        println!(
            "Redeem it in the app, or: curl -X POST http://{listen}/api/v0/redeem -H 'content-type: application/json' \\"
        );
        println!("    -d '{{\"code\": \"{code}\", \"device_name\": \"my laptop\"}}'");
    }
    let relay = Relay::new(db, limits)?;
    if let Some(contact) = feedback_contact {
        relay.set_feedback_contact(contact);
    }
    // Database calls take turns on one connection, so a burst of devices connecting would
    // otherwise start a blocking thread (its stack and an allocator arena) for each of them to
    // wait on that turn; queued, they wait for a few threads instead.
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().max_blocking_threads(16).build()?;
    let served = rt.block_on(async move {
        // Before anything is announced, so that a signal never finds the default action.
        let signal = shutdown_signal()?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        if let Some(at) = metrics_listen {
            let metrics = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen for metrics on {at}"))?;
            println!("{}", contactpoint_server::banner::metrics_line(metrics.local_addr()?));
            let app = contactpoint_server::metrics::app(relay.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(metrics, app).await {
                    tracing::error!("the metrics listener stopped: {e}");
                }
            });
        }
        println!("{}", contactpoint_server::banner::listening_line(addr, &db_path));
        if web.is_some() {
            println!("Web app at http://{addr}/");
        }
        let signalled = std::sync::Arc::new(std::sync::OnceLock::new());
        let at = signalled.clone();
        contactpoint_server::serve_with(listener, relay, web, net, async move {
            let name = signal.await;
            let _ = at.set(std::time::Instant::now());
            tracing::info!("{name}: shutting down");
        })
        .await?;
        if let Some(t) = signalled.get() {
            tracing::info!(ms = t.elapsed().as_millis() as u64, "shut down");
        }
        Ok::<_, anyhow::Error>(())
    });
    // Whatever is still running (a stuck write) is not waited for.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    served
}

/// Completes on SIGTERM (what service managers send) or Ctrl-C, with the signal's name.
fn shutdown_signal() -> Result<impl std::future::Future<Output = &'static str> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        })
    }
}

fn erase(db: &std::path::Path, contacts: &[String], person: Option<&str>, yes: bool, by: Option<String>) -> Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let db = open(db)?;
    let mut matches = Vec::new();
    for id in contacts {
        let found = db.with(|c| admin::find_contact(c, id))?;
        if found.is_empty() {
            bail!("no contact point {id:?} in any document");
        }
        matches.extend(found);
    }
    if let Some(person) = person {
        let found = db.with(|c| admin::find_person(c, person))?;
        if found.is_empty() {
            println!("No contact point names {:?}; nothing was changed.", safe(person).as_ref());
            return Ok(());
        }
        matches.extend(found);
    }
    matches.sort_by(|a, b| (&a.doc, &a.contact_id).cmp(&(&b.doc, &b.contact_id)));
    matches.dedup_by(|a, b| a.doc == b.doc && a.contact_id == b.contact_id);
    println!("{} contact point(s) to erase:", matches.len());
    for m in &matches {
        println!(
            "  {}  {}  in {} ({})  matched: {}",
            safe(&m.contact_id),
            safe(&m.name),
            m.doc,
            safe(&m.scope),
            safe(&m.fields.join(", "))
        );
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("nothing was changed: confirm with --yes when not running interactively");
        }
        print!("Erase them from every document and its history? Type yes to go on: ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            println!("Nothing was changed.");
            return Ok(());
        }
    }
    let by = by
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()).map(|u| format!("cli:{u}")))
        .unwrap_or_else(|| "cli".to_owned());
    let rotations = db.with(|c| Ok(admin::erase(c, &matches, &by)))?.map_err(anyhow::Error::from)?;
    for r in &rotations {
        println!("{} is now {} ({} contact point(s) erased)", r.old, r.new, r.dropped.len());
    }
    println!("Devices drop their copies of the old documents when they next sync.");
    Ok(())
}

/// Names and details in the tables are typed by others (a device's name by whoever redeemed the
/// invite); control characters are shown escaped, never sent to the terminal.
fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    admin::terminal_safe(s)
}

fn run_admin(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Invite { db, role, areas, name, user, days, uses, url } => {
            let valid_for_ms = days.saturating_mul(calendar::MS_PER_DAY);
            let code = match (user, role) {
                (Some(user), _) => {
                    let db = open(&db)?;
                    db.with(|c| Ok(auth::create_device_invite(c, user, valid_for_ms, uses, Some("cli"))))??
                }
                (None, Some(role)) => {
                    let role = parse_role(&role)?;
                    let areas: Vec<Area> = areas.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
                    let spec = InviteSpec { role, areas, user_name: name, valid_for_ms, uses };
                    let db = open(&db)?;
                    db.with(|c| Ok(admin::invite(c, admin::Actor::Cli, &spec)))??
                }
                (None, None) => bail!("give --role for a new user, or --user ID for a new device of an existing user"),
            };
            println!("{code}");
            match url {
                Some(url) => println!("{}", admin::invite_link(&url, &code)),
                None => eprintln!(
                    "Give --url https://<the app's address> (or CONTACTPOINT_PUBLIC_URL) to print it as a link."
                ),
            }
        }
        AdminCommand::Users { command: Some(UsersCommand::Create { db, name, role, areas, json }), .. } => {
            let role = parse_role(&role)?;
            let areas: Vec<Area> = areas.iter().map(|a| a.parse()).collect::<Result<_, _>>()?;
            let db = open(&db)?;
            let id = db.with(|c| Ok(admin::create_user(c, &name, role, &areas, Some("cli"))))??;
            if json {
                let areas = auth::area_keys(&areas);
                let user = serde_json::json!({ "id": id, "name": name.trim(), "role": role.as_str(), "areas": areas });
                println!("{}", serde_json::to_string_pretty(&user)?);
            } else {
                println!("{id}");
            }
        }
        AdminCommand::Revoke { db, device } => {
            let db = open(&db)?;
            if db.with(|c| Ok(admin::revoke(c, admin::Actor::Cli, device)))?? {
                println!("device {device} revoked; its connections close within a second");
            } else {
                bail!("no active device {device}");
            }
        }
        AdminCommand::Users { command: None, db, json } => {
            let rows = open(&db)?.with(|c| admin::users(c))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!(
                    "{:>5}  {:<28} {:<7} {:>7}  {:<16} {:<10}  areas",
                    "id", "name", "role", "devices", "created", "disabled"
                );
                for u in rows {
                    println!(
                        "{:>5}  {:<28} {:<7} {:>7}  {:<16} {:<10}  {}",
                        u.id,
                        safe(&u.name),
                        safe(&u.role),
                        u.active_devices,
                        calendar::minutes_utc(u.created_at),
                        u.disabled_at.map(calendar::minutes_utc).map(|d| d[..10].to_owned()).unwrap_or_default(),
                        safe(&u.areas.join(" "))
                    );
                }
            }
        }
        AdminCommand::DisableUser { db, user } => {
            if open(&db)?.with(|c| Ok(admin::disable(c, admin::Actor::Cli, user)))?? {
                println!("user {user} disabled; their connections close within a second");
            } else {
                bail!("no active user {user}");
            }
        }
        AdminCommand::Devices { db, json } => {
            let rows = open(&db)?.with(|c| admin::devices(c))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{:>5}  {:<24} {:<24} {:<16} revoked", "id", "user", "device", "created");
                for d in rows {
                    let user = format!("{} ({})", safe(&d.user_name), d.user_id);
                    println!(
                        "{:>5}  {:<24} {:<24} {:<16} {}",
                        d.id,
                        user,
                        safe(&d.name),
                        calendar::minutes_utc(d.created_at),
                        d.revoked_at.map(calendar::minutes_utc).unwrap_or_default()
                    );
                }
            }
        }
        AdminCommand::Areas { db, json } => {
            let rows = open(&db)?.with(|c| admin::areas(c))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for a in rows {
                    let editors: Vec<String> = a.editors.iter().map(|(id, n)| format!("{} ({id})", safe(n))).collect();
                    println!(
                        "{:<22} {:<20} {} document(s); editors: {}",
                        safe(&a.area),
                        safe(&a.name),
                        a.documents.len(),
                        if editors.is_empty() { "none".to_owned() } else { editors.join(", ") }
                    );
                }
            }
        }
        AdminCommand::Audit { db, user, area, action, since, until, limit, json } => {
            let area = area.map(|a| a.parse::<Area>().map(|a| a.to_string())).transpose()?;
            let day = |s: Option<String>| s.map(|d| calendar::day_start_ms(&d).map_err(anyhow::Error::msg)).transpose();
            let q = admin::AuditQuery { user_id: user, area, action, since: day(since)?, until: day(until)?, limit };
            let rows = open(&db)?.with(|c| admin::audit(c, &q))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for r in rows {
                    let who = match (&r.user_name, r.user_id) {
                        (Some(n), Some(id)) => format!("{} ({id})", safe(n)),
                        _ => "—".to_owned(),
                    };
                    println!(
                        "{}  {:<16} {:<24} {} {}",
                        calendar::minutes_utc(r.at),
                        safe(&r.action),
                        who,
                        safe(&r.doc_id.unwrap_or_default()),
                        safe(&r.detail.unwrap_or_default())
                    );
                }
            }
        }
        AdminCommand::Erase { db, contact, person, yes, by } => erase(&db, &contact, person.as_deref(), yes, by)?,
        AdminCommand::Document { db, scope } => {
            let scope = admin::parse_scope(&scope).map_err(anyhow::Error::msg)?;
            let db = open(&db)?;
            let doc = admin::empty_document(&scope).map_err(anyhow::Error::msg)?;
            let id = db.with(|c| admin::create_document(c, &scope, &doc))?;
            println!("{id}");
        }
    }
    Ok(())
}
