//! The web console on the daemon's listener: server-rendered pages (overview, sources, alerts,
//! playground) for reading the daemon's state, a small JSON API under `/api/` with the same data,
//! and two actions (replay an alert, send a test alert to a sink) behind the console token.
//!
//! Pages are minijinja templates compiled into the binary (`templates/`) with HTML escaping on
//! for everything, one CSS file and a few lines of JavaScript (`assets/`) that only enhance: every
//! page reads without it. Every response carries a strict Content-Security-Policy (no inline
//! script or style, nothing from other origins). State is read only through the store.
//!
//! It deliberately does not poll, deliver or write config: actions go through the store (re-queue)
//! and the pipeline's own sink, exactly as `wirewatch alerts replay|test` do.

mod api;
mod auth;
mod highlight;
mod pages;
mod playground;
mod views;

use std::sync::OnceLock;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use tokio::sync::watch;

use super::supervisor::Current;
pub use auth::Access;

type Shared = watch::Receiver<Current>;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, to be merged into the listener's router.
pub fn routes(current: Shared) -> Router<Shared> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/sources", get(pages::sources))
        .route("/sources/:name", get(pages::source))
        .route("/alerts", get(pages::alerts))
        .route("/alerts/:id", get(pages::alert))
        .route("/alerts/:id/replay", post(pages::replay))
        .route("/sinks/:name/test", post(pages::test_sink))
        .route("/playground", get(pages::playground))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/api/overview", get(api::overview))
        .route("/api/sources", get(api::sources))
        .route("/api/alerts", get(api::alerts))
        .route("/api/alerts/:id", get(api::alert))
        .route("/api/playground", get(api::playground))
        .route("/assets/console.css", get(stylesheet))
        .route("/assets/console.js", get(script))
        .layer(axum::middleware::from_fn_with_state(current, guard))
}

/// Turns away requests without the token where it is needed, hands the handlers who is asking,
/// and adds the security headers to every answer.
async fn guard(State(current): State<Shared>, mut request: Request, next: Next) -> Response {
    let config = current.borrow().pipeline.config.clone();
    let path = request.uri().path().to_string();
    let open = path.starts_with("/assets/") || path == "/login";
    let mut response = match auth::access(&config, request.headers()) {
        Ok(access) => {
            request.extensions_mut().insert(access);
            next.run(request).await
        }
        Err(_) if open => {
            request.extensions_mut().insert(Access::Reader);
            next.run(request).await
        }
        Err(_) if path.starts_with("/api/") => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "the console needs its token here: send Authorization: Bearer TOKEN\n",
        )
            .into_response(),
        Err(_) => {
            let next_page = request
                .uri()
                .path_and_query()
                .map_or("/", |whole| whole.as_str());
            Redirect::to(&format!("/login?next={}", encode(next_page))).into_response()
        }
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // not no-referrer: under it browsers send `Origin: null` with form posts, and the CSRF
        // check needs the real origin
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !path.starts_with("/assets/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/console.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/console.js"),
    )
        .into_response()
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("sources.html", include_str!("templates/sources.html")),
    ("source.html", include_str!("templates/source.html")),
    ("alerts.html", include_str!("templates/alerts.html")),
    ("alert.html", include_str!("templates/alert.html")),
    ("login.html", include_str!("templates/login.html")),
    ("playground.html", include_str!("templates/playground.html")),
    ("results.html", include_str!("templates/results.html")),
];

/// The templates, parsed once. A template that does not parse is a build defect, caught by the
/// test below; it is left out rather than stopping the daemon, and its page answers 500.
fn templates() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut environment = Environment::new();
        // names and ids in links and query strings (minijinja's own filter needs a feature)
        environment.add_filter("urlencode", |text: String| encode(&text));
        // `.html` names turn on HTML escaping of every value (minijinja's default callback)
        for (name, source) in TEMPLATES {
            if let Err(error) = environment.add_template(name, source) {
                tracing::error!(template = name, %error, "console template does not parse");
            }
        }
        environment
    })
}

fn render(name: &str, context: minijinja::Value) -> Response {
    match templates()
        .get_template(name)
        .and_then(|template| template.render(context))
    {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(template = name, %error, "console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render; the daemon's log says why\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests;
