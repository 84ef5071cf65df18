//! The lines `contactpoint serve` prints for people and for programs that start it (the
//! end-to-end tests and the benchmarks): printed here and parsed here, so the two cannot drift.

use std::net::SocketAddr;

/// What precedes the listening address.
pub const LISTENING: &str = "listening on http://";

/// The line announcing the address, with the database for people reading it.
pub fn listening_line(addr: SocketAddr, db: &std::path::Path) -> String {
    let db = crate::sql::redact(&db.to_string_lossy());
    format!("Contact Point relay {LISTENING}{addr} (sync at ws://{addr}/sync, database {db})")
}

/// The address, if this is the listening line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    line.split(LISTENING).nth(1)?.split_whitespace().next()?.parse().ok()
}

/// The first administrator's invite code is printed alone on an indented line.
pub fn invite_line(code: &str) -> String {
    format!("    {code}")
}

/// The invite code, if this is an invite line: three groups of five letters or digits.
pub fn parse_invite(line: &str) -> Option<String> {
    let t = line.trim();
    let groups: Vec<&str> = t.split('-').collect();
    (groups.len() == 3 && groups.iter().all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric())))
        .then(|| t.to_owned())
}

/// What precedes the metrics listener's address.
pub const METRICS: &str = "metrics on http://";

/// The line announcing the metrics listener.
pub fn metrics_line(addr: SocketAddr) -> String {
    format!("Prometheus {METRICS}{addr}/metrics (keep this address private)")
}

/// The address, if this is the metrics line.
pub fn parse_metrics(line: &str) -> Option<SocketAddr> {
    line.split(METRICS).nth(1)?.split('/').next()?.parse().ok()
}

/// What precedes the effective settings.
pub const SETTINGS: &str = "Settings: ";

/// The line listing the effective settings, each as `name=value (source)`.
pub fn settings_line(settings: &[String]) -> String {
    format!("{SETTINGS}{}", settings.join(", "))
}

/// What a starting relay announced.
#[derive(Clone, Debug)]
pub struct Startup {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The first administrator's invite code, when one was printed.
    pub invite: Option<String>,
    /// Where `/metrics` is served, when it is.
    pub metrics: Option<SocketAddr>,
    /// The effective settings line, without its prefix.
    pub settings: Option<String>,
}

/// Reads a starting relay's output until it announces its address (the metrics line and the
/// invite come before it). The rest of the output is drained in the background, so the relay
/// never blocks on a full pipe. `None` when the output ended first (the relay exited before
/// listening).
pub fn read_startup(out: impl std::io::Read + Send + 'static) -> std::io::Result<Option<Startup>> {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(out).lines();
    let (mut invite, mut metrics, mut settings) = (None, None, None);
    let addr = loop {
        let Some(line) = lines.next() else { return Ok(None) };
        let line = line?;
        if let Some(addr) = parse_listening(&line) {
            break addr;
        }
        if let Some(code) = parse_invite(&line) {
            invite = Some(code);
        }
        if let Some(m) = parse_metrics(&line) {
            metrics = Some(m);
        }
        if let Some(s) = line.strip_prefix(SETTINGS) {
            settings = Some(s.to_owned());
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Some(Startup { addr, invite, metrics, settings }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_printed_parses_back() {
        let addr: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        assert_eq!(parse_listening(&listening_line(addr, std::path::Path::new("data/x.sqlite"))), Some(addr));
        assert_eq!(parse_invite(&invite_line("K7QX2-M9DP4-TRABC")).as_deref(), Some("K7QX2-M9DP4-TRABC"));
        assert_eq!(parse_invite("No users yet. First administrator's invite code"), None);
        assert_eq!(parse_listening("Web app at http://127.0.0.1:1/"), None);
        assert_eq!(parse_metrics(&metrics_line(addr)), Some(addr));
        assert_eq!(parse_metrics(&listening_line(addr, std::path::Path::new("m"))), None);
    }
}
