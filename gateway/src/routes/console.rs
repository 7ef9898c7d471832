//! The web console: a single-page app embedded in the binary. `GET /` hands its HTML to
//! browsers (see `wants_html`); assets live under `/console/{version}/…`, where the
//! version is a hash of their contents, so they can be cached for a year.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Every asset: path below `gateway/console/` and its bytes.
macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_bytes!(concat!("../../console/", $path)) as &[u8])),*]
    };
}

static ASSETS: &[(&str, &[u8])] = assets![
    "app.css",
    "layout.css",
    "widgets.css",
    "tables.css",
    "icon.svg",
    "theme-init.js",
    "js/main.js",
    "js/api.js",
    "js/dom.js",
    "js/ui.js",
    "js/dialog.js",
    "js/format.js",
    "js/chart.js",
    "js/sse.js",
    "js/shell.js",
    "js/kvtable.js",
    "js/menu.js",
    "js/checklist.js",
    "js/limits.js",
    "js/pages/login.js",
    "js/pages/account.js",
    "js/pages/dashboard.js",
    "js/pages/keys.js",
    "js/pages/key_form.js",
    "js/pages/logs.js",
    "js/pages/channels.js",
    "js/pages/channel_form.js",
    "js/pages/users.js",
    "js/pages/settings.js",
    "js/pages/playground.js",
];

const INDEX_TEMPLATE: &str = include_str!("../../console/index.html");

/// The policy for the HTML page: nothing inline, nothing from elsewhere.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Short content hash of all assets; changes whenever any of them does.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (path, bytes) in ASSETS {
        hasher.update(path.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hex::encode(&hasher.finalize()[..6])
});

static INDEX_HTML: LazyLock<String> =
    LazyLock::new(|| INDEX_TEMPLATE.replace("{{VERSION}}", &VERSION));

pub fn configure(cfg: &mut web::ServiceConfig) {
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/console/{version}/{path:.*}", get_or_head().to(asset))
        .route("/console", web::get().to(to_root))
        .route("/console/", web::get().to(to_root));
}

/// True when the client prefers HTML (a browser navigating to `/`): `text/html` is
/// acceptable and ranked at least as high as `application/json`.
pub fn wants_html(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let (mut html, mut json) = (None::<f32>, None::<f32>);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" => html = Some(html.map_or(q, |h| h.max(q))),
            "application/json" => json = Some(json.map_or(q, |j| j.max(q))),
            _ => {}
        }
    }
    matches!(html, Some(h) if h > 0.0 && h >= json.unwrap_or(0.0))
}

/// The console's HTML page with its security headers.
pub fn index() -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::VARY, "Accept"));
    res.body(INDEX_HTML.as_str())
}

async fn asset(path: web::Path<(String, String)>) -> HttpResponse {
    let (version, file) = path.into_inner();
    let Some((_, bytes)) = ASSETS.iter().find(|(p, _)| *p == file) else {
        return HttpResponse::NotFound()
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .content_type("text/plain; charset=utf-8")
            .body("not found");
    };
    // A page from an older build may still ask for its version: answer, but uncached.
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type(&file)))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(*bytes)
}

async fn to_root() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, HeaderValue::from_static("/")))
        .finish()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn accepts(value: &str) -> bool {
        wants_html(
            &TestRequest::default()
                .insert_header((header::ACCEPT, value))
                .to_http_request(),
        )
    }

    #[test]
    fn browsers_get_html_and_api_clients_get_json() {
        assert!(accepts(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accepts("application/json"));
        assert!(!accepts("*/*"));
        assert!(!accepts("application/json, text/html;q=0.5"));
        assert!(!accepts("text/html;q=0"));
        assert!(!wants_html(&TestRequest::default().to_http_request()));
    }

    #[test]
    fn every_file_in_the_console_folder_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("console folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(&root)
                    .expect("inside")
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel == "index.html" {
                    continue;
                }
                assert!(ASSETS.iter().any(|(p, _)| *p == rel), "{rel} is not listed");
            }
        }
    }

    #[test]
    fn the_page_references_only_versioned_assets() {
        assert!(!INDEX_HTML.contains("{{VERSION}}"));
        assert!(INDEX_HTML.contains(&format!("/console/{}/js/main.js", *VERSION)));
        assert!(!INDEX_HTML.contains("<script>"));
    }
}
