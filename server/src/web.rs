//! Serves the built web app from a directory: hashed assets are cached for good, the HTML shell,
//! the service worker and any other file without a hash in its name are always revalidated, and
//! unknown paths that look like app routes get the shell so that deep links work.
//!
//! The build writes brotli (`.br`) and gzip (`.gz`) variants next to the files where they are
//! smaller; each request gets the variant its `Accept-Encoding` prefers, with `Content-Encoding`,
//! `Vary: Accept-Encoding` and an `ETag` of its own, so that caches never mix them up.

use std::path::{Component, Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt;

/// The content type for a file name.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether a file name carries a content hash (`name.0123abcd.ext`), so it can be cached forever.
fn is_hashed(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.split('.').rev().nth(1).is_some_and(|h| h.len() >= 8 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What the app's pages and its service worker may load and where they may connect.
const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws: wss:; \
                      img-src 'self' data:; style-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Whether a browser takes a content security policy from this file's response: a page (the
/// HTML shell, an SVG opened on its own) or a worker's script (the service worker is the one
/// script without a hash in its name). A module script, a style sheet, the wasm, the manifest
/// and a PNG are governed by their page's; sending the policy with them too cost every first
/// visit about 200 bytes per file. The referrer policy goes with it: a module script or style
/// sheet without one falls back to the page's `no-referrer` for what it loads, which is all
/// from this origin anyway.
fn governs_a_context(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "svg" => true,
        "js" | "mjs" => !is_hashed(path),
        _ => false,
    }
}

/// Maps a request path to a file inside `root`, refusing anything that could leave it.
fn resolve(root: &Path, uri_path: &str) -> Option<PathBuf> {
    let rel = uri_path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            _ => return None,
        }
    }
    Some(out)
}

/// A content coding the app's files may be stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// Every coding, in the order preferred when the client rates them alike.
    const ALL: [Encoding; 3] = [Encoding::Brotli, Encoding::Gzip, Encoding::Identity];

    /// The suffix of the variant file the build writes next to the original.
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
            Encoding::Identity => "",
        }
    }

    fn matches(self, coding: &str) -> bool {
        match self {
            Encoding::Brotli => coding.eq_ignore_ascii_case("br"),
            Encoding::Gzip => coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip"),
            Encoding::Identity => coding.eq_ignore_ascii_case("identity"),
        }
    }
}

/// The codings an `Accept-Encoding` value allows, best first (RFC 9110, 12.5.3): each listed
/// coding with its q-value (`q=0` refuses it), `*` for every coding not listed, ties broken by
/// [`Encoding::ALL`]. `identity` not listed and not refused by `*;q=0` comes last, and so does an
/// absent header, which asks for nothing. When every coding is refused, `identity` is still sent:
/// the app's files exist in no other form everywhere.
fn negotiate(accept: Option<&str>) -> Vec<Encoding> {
    let Some(accept) = accept else { return vec![Encoding::Identity] };
    // Each coding's q-value where listed, and that of `*`, in thousandths.
    let mut listed: [Option<u16>; 3] = [None; 3];
    let mut star: Option<u16> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if coding.is_empty() {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = qvalue(v.trim());
            }
        }
        // A malformed q-value leaves the item out rather than guessing what it meant.
        let Some(q) = q else { continue };
        if coding == "*" {
            star = Some(q);
        }
        for (i, e) in Encoding::ALL.iter().enumerate() {
            if e.matches(coding) {
                listed[i] = Some(listed[i].map_or(q, |old| old.max(q)));
            }
        }
    }
    let mut ranked: Vec<(u16, usize)> =
        (0..Encoding::ALL.len()).filter_map(|i| listed[i].or(star).filter(|&q| q > 0).map(|q| (q, i))).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<Encoding> = ranked.into_iter().map(|(_, i)| Encoding::ALL[i]).collect();
    if !out.contains(&Encoding::Identity) {
        out.push(Encoding::Identity);
    }
    out
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths, or `None` if it is not one.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac),
        "1" if frac == 0 => Some(1000),
        _ => None,
    }
}

/// Whether an `If-None-Match` value names `etag` (weak comparison, as for GET and HEAD).
fn none_match(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    if_none_match.trim() == "*" || if_none_match.split(',').any(|t| bare(t) == bare(etag))
}

/// An open file of the app in the coding chosen for one request.
struct Chosen {
    file: tokio::fs::File,
    len: u64,
    encoding: Encoding,
    /// The variant's length, modification time and coding: each variant has its own.
    etag: String,
}

/// Opens `path` in the first coding of `wanted` that has a file. A variant older than the
/// original was left behind by an edit of the original and is passed over. `None` when the
/// original is not a file.
async fn open_variant(path: &Path, wanted: &[Encoding]) -> Option<Chosen> {
    let original = tokio::fs::metadata(path).await.ok().filter(|m| m.is_file())?;
    let modified = original.modified().ok();
    for &encoding in wanted {
        let mut name = path.as_os_str().to_owned();
        name.push(encoding.suffix());
        let Ok(file) = tokio::fs::File::open(&name).await else { continue };
        let Ok(meta) = file.metadata().await else { continue };
        let mtime = meta.modified().ok();
        if !meta.is_file() || (encoding != Encoding::Identity && mtime < modified) {
            continue;
        }
        let nanos = mtime.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        let etag = format!("\"{:x}-{nanos:x}{}\"", meta.len(), encoding.suffix().replace('.', "-"));
        return Some(Chosen { file, len: meta.len(), encoding, etag });
    }
    None
}

/// Answers a request for a file of the web app. HEAD gets the headers alone, and a GET or HEAD
/// whose `If-None-Match` names the chosen variant's `ETag` gets `304 Not Modified`.
pub async fn serve_file(root: PathBuf, req: Request) -> Response {
    let (req, _) = req.into_parts();
    let Some(mut path) = resolve(&root, req.uri.path()) else {
        return (StatusCode::BAD_REQUEST, "bad path").into_response();
    };
    let wanted = negotiate(header_str(&req.headers, header::ACCEPT_ENCODING));
    let mut chosen = open_variant(&path, &wanted).await;
    if chosen.is_none() && path.extension().is_none() {
        // An app route such as /card/hate-crime: the shell handles it.
        path = root.join("index.html");
        chosen = open_variant(&path, &wanted).await;
    }
    let Some(mut chosen) = chosen else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let get_or_head = req.method == Method::GET || req.method == Method::HEAD;
    let unchanged =
        get_or_head && header_str(&req.headers, header::IF_NONE_MATCH).is_some_and(|v| none_match(v, &chosen.etag));

    let mut resp = Response::new(Body::empty());
    let h = resp.headers_mut();
    if unchanged {
        // A 304 carries what guides caches, not what describes a body (RFC 9110, 15.4.5).
    } else {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(chosen.len));
        match chosen.encoding {
            Encoding::Brotli => h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br")),
            Encoding::Gzip => h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            Encoding::Identity => None,
        };
    }
    let cache = if is_hashed(&path) { "public, max-age=31536000, immutable" } else { "no-cache" };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&chosen.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if governs_a_context(&path) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    if unchanged {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
    } else if req.method != Method::HEAD {
        let mut bytes = Vec::with_capacity(usize::try_from(chosen.len).unwrap_or(0));
        if chosen.file.read_to_end(&mut bytes).await.is_err() {
            return (StatusCode::INTERNAL_SERVER_ERROR, "could not read the file").into_response();
        }
        // The length read is the one sent, even if the file was rewritten in place meanwhile.
        resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        *resp.body_mut() = Body::from(bytes);
    }
    resp
}

/// A header's value, if it is there and readable as text.
fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root_and_hashes_are_recognised() {
        let root = Path::new("/srv/web");
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(root, "/app.1a2b3c4d.js"), Some(root.join("app.1a2b3c4d.js")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../b"), None);
        assert!(is_hashed(Path::new("app.1a2b3c4d.js")));
        assert!(!is_hashed(Path::new("sw.js")));
        assert!(!is_hashed(Path::new("index.html")));
    }

    #[test]
    fn accept_encoding_is_negotiated_by_q_value() {
        use Encoding::{Brotli, Gzip, Identity};
        // No header: the client asked for nothing, so it gets the file as it is.
        assert_eq!(negotiate(None), vec![Identity]);
        assert_eq!(negotiate(Some("")), vec![Identity]);
        // What browsers send: brotli first, whatever the order of the list.
        assert_eq!(negotiate(Some("gzip, deflate, br, zstd")), vec![Brotli, Gzip, Identity]);
        assert_eq!(negotiate(Some("gzip")), vec![Gzip, Identity]);
        assert_eq!(negotiate(Some("x-gzip")), vec![Gzip, Identity]);
        assert_eq!(negotiate(Some("BR")), vec![Brotli, Identity]);
        // q-values rank; q=0 refuses.
        assert_eq!(negotiate(Some("br;q=0.5, gzip")), vec![Gzip, Brotli, Identity]);
        assert_eq!(negotiate(Some("br ; q=0, gzip;q=0.1")), vec![Gzip, Identity]);
        assert_eq!(negotiate(Some("br;q=0.000, gzip;q=0")), vec![Identity]);
        // identity listed competes like any coding; refused, it is still the last resort.
        assert_eq!(negotiate(Some("identity, br;q=0.9")), vec![Identity, Brotli]);
        assert_eq!(negotiate(Some("identity;q=0.2, gzip;q=0.3")), vec![Gzip, Identity]);
        assert_eq!(negotiate(Some("identity;q=0")), vec![Identity]);
        // `*` stands for every coding not listed.
        assert_eq!(negotiate(Some("*")), vec![Brotli, Gzip, Identity]);
        assert_eq!(negotiate(Some("*;q=0.5, gzip")), vec![Gzip, Brotli, Identity]);
        assert_eq!(negotiate(Some("br;q=0, *")), vec![Gzip, Identity]);
        assert_eq!(negotiate(Some("*;q=0, gzip")), vec![Gzip, Identity]);
        // Unknown codings and malformed q-values change nothing.
        assert_eq!(negotiate(Some("zstd, compress, deflate")), vec![Identity]);
        assert_eq!(negotiate(Some("br;q=2, gzip;q=0.5x, identity")), vec![Identity]);
        assert_eq!(negotiate(Some("br;level=5, ,gzip;q=1.000")), vec![Brotli, Gzip, Identity]);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match("\"a-1\"", "\"a-1\""));
        assert!(none_match("W/\"a-1\", \"b\"", "\"a-1\""));
        assert!(none_match("*", "\"a-1\""));
        assert!(!none_match("\"a-1-br\"", "\"a-1\""));
    }

    /// A directory with an asset in three codings (brotli made stale on purpose when asked),
    /// the shell with only a gzip variant, and a file with no variant.
    fn site() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let w = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).expect("write");
        w("app.0123abcd.js", "identity body");
        w("app.0123abcd.js.br", "br body");
        w("app.0123abcd.js.gz", "gz body");
        w("index.html", "<!doctype html>");
        w("index.html.gz", "gz shell");
        w("sw.js", "worker");
        w("icon.0123abcd.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
        dir
    }

    async fn get(root: &Path, method: Method, path: &str, headers: &[(&str, &str)]) -> (Response, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = serve_file(root.to_path_buf(), req.body(Body::empty()).expect("request")).await;
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        (Response::from_parts(parts, Body::empty()), bytes.to_vec())
    }

    fn hdr(r: &Response, name: header::HeaderName) -> Option<&str> {
        r.headers().get(name).map(|v| v.to_str().expect("ascii header"))
    }

    #[tokio::test]
    async fn each_variant_is_served_with_its_own_headers() {
        let dir = site();
        let root = dir.path();
        let js = "/app.0123abcd.js";
        let (br, body) = get(root, Method::GET, js, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(body, b"br body");
        assert_eq!(hdr(&br, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(hdr(&br, header::VARY), Some("accept-encoding"));
        assert_eq!(hdr(&br, header::CONTENT_TYPE), Some("text/javascript; charset=utf-8"));
        assert_eq!(hdr(&br, header::CACHE_CONTROL), Some("public, max-age=31536000, immutable"));
        let (gz, body) = get(root, Method::GET, js, &[("accept-encoding", "gzip")]).await;
        assert_eq!(body, b"gz body");
        assert_eq!(hdr(&gz, header::CONTENT_ENCODING), Some("gzip"));
        let (plain, body) = get(root, Method::GET, js, &[]).await;
        assert_eq!(body, b"identity body");
        assert_eq!(hdr(&plain, header::CONTENT_ENCODING), None);
        assert_eq!(hdr(&plain, header::VARY), Some("accept-encoding"));
        let tags = [hdr(&br, header::ETAG), hdr(&gz, header::ETAG), hdr(&plain, header::ETAG)];
        assert!(tags.iter().all(Option::is_some), "{tags:?}");
        assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2], "{tags:?}");

        // HEAD: the same headers and length, no body.
        let (head, body) = get(root, Method::HEAD, js, &[("accept-encoding", "br")]).await;
        assert!(body.is_empty());
        assert_eq!(hdr(&head, header::CONTENT_LENGTH), Some("7"));
        assert_eq!(hdr(&head, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(hdr(&head, header::ETAG), tags[0]);

        // A conditional request is answered 304 only for the variant it names.
        let br_tag = tags[0].expect("etag");
        let (same, body) = get(root, Method::GET, js, &[("accept-encoding", "br"), ("if-none-match", br_tag)]).await;
        assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        assert_eq!(hdr(&same, header::ETAG), Some(br_tag));
        assert_eq!(hdr(&same, header::VARY), Some("accept-encoding"));
        let (other, body) = get(root, Method::GET, js, &[("accept-encoding", "gzip"), ("if-none-match", br_tag)]).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert_eq!(body, b"gz body");
        let (head, _) = get(root, Method::HEAD, js, &[("accept-encoding", "br"), ("if-none-match", br_tag)]).await;
        assert_eq!(head.status(), StatusCode::NOT_MODIFIED);
    }

    /// Pages (the shell, also for an app route, and an SVG, which can be opened as one) and the
    /// service worker carry the content security and referrer policies; a hashed script, which
    /// takes its page's, does not.
    #[tokio::test]
    async fn pages_and_the_worker_carry_the_policies() {
        let dir = site();
        let root = dir.path();
        for path in ["/", "/card/hate-crime", "/sw.js", "/icon.0123abcd.svg"] {
            let (r, _) = get(root, Method::GET, path, &[]).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let csp = hdr(&r, header::CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{path} has no policy"));
            assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(hdr(&r, header::REFERRER_POLICY), Some("no-referrer"), "{path}");
            assert_eq!(hdr(&r, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"), "{path}");
        }
        let (r, _) = get(root, Method::GET, "/app.0123abcd.js", &[]).await;
        assert_eq!(hdr(&r, header::CONTENT_SECURITY_POLICY), None);
        assert_eq!(hdr(&r, header::REFERRER_POLICY), None);
        assert_eq!(hdr(&r, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
    }

    #[tokio::test]
    async fn missing_or_stale_variants_fall_back() {
        let dir = site();
        let root = dir.path();
        // The shell has no brotli variant: gzip, then the file itself.
        let (shell, body) = get(root, Method::GET, "/", &[("accept-encoding", "br, gzip")]).await;
        assert_eq!(body, b"gz shell");
        assert_eq!(hdr(&shell, header::CACHE_CONTROL), Some("no-cache"));
        let (shell, body) = get(root, Method::GET, "/index.html", &[("accept-encoding", "br")]).await;
        assert_eq!(body, b"<!doctype html>");
        assert_eq!(hdr(&shell, header::CONTENT_ENCODING), None);
        // An app route gets the shell, negotiated the same way.
        let (route, body) = get(root, Method::GET, "/card/hate-crime", &[("accept-encoding", "gzip")]).await;
        assert_eq!(body, b"gz shell");
        assert_eq!(hdr(&route, header::CONTENT_TYPE), Some("text/html; charset=utf-8"));
        assert_eq!(hdr(&route, header::CONTENT_ENCODING), Some("gzip"));
        // A file with no variants.
        let (sw, body) = get(root, Method::GET, "/sw.js", &[("accept-encoding", "br, gzip")]).await;
        assert_eq!(body, b"worker");
        assert_eq!(hdr(&sw, header::CONTENT_ENCODING), None);
        // A missing asset is not the shell.
        let (missing, _) = get(root, Method::GET, "/gone.0123abcd.js", &[("accept-encoding", "br")]).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);

        // The shell edited in place after the build: its old gzip variant is never served.
        let shell = root.join("index.html");
        let later = std::fs::metadata(root.join("index.html.gz")).and_then(|m| m.modified()).expect("mtime")
            + std::time::Duration::from_secs(2);
        std::fs::write(&shell, "<!doctype html><p>new").expect("write");
        std::fs::File::options().write(true).open(&shell).and_then(|f| f.set_modified(later)).expect("touch");
        let (fresh, body) = get(root, Method::GET, "/", &[("accept-encoding", "gzip")]).await;
        assert_eq!(body, b"<!doctype html><p>new");
        assert_eq!(hdr(&fresh, header::CONTENT_ENCODING), None);
    }
}
