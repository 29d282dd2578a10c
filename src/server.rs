//! Assembles the server from its configuration and runs it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

use crate::connection::Closing;
use crate::limits::Limits;
use crate::persist::{StateFile, StateFileError};
use tower_http::cors::CorsLayer;

use chrono::{DateTime, Utc};

use crate::admin::Admin;
use axum::routing::any;

use crate::apis::Wiring;
use crate::apis::flow_runs::FlowRuns;
use crate::context::Context;
use crate::delivery::{self, Emitters, Engine};
use crate::faults::Faults;
use crate::fixtures::{FixtureError, Fixtures};
use crate::generated::DOCUMENTS;
use crate::journal::Journal;
use crate::journal::{Coverage, Violations};
use crate::recorder::sink::{Sink, capture};
use crate::recorder::{self, Fsync, Recorder, RecorderError};
use crate::router::{Catalog, CatalogError, Reloads, Settings};
use crate::router::{Edge, handle};
use crate::spec::load::LoadError;
use crate::specs::SpecSource;
use crate::store::Stores;
use crate::validate::CompileError;
use arc_swap::ArcSwap;

/// What `hookmock serve` is told on its command line.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    /// 0 picks a free port; the bound address is reported.
    pub port: u16,
    /// APIs to serve by name; empty serves all.
    pub apis: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    pub cors: bool,
    /// The data every new tenant starts with.
    pub fixtures: Fixtures,
    /// Deterministic mode: time frozen here, identifiers from a seeded sequence.
    pub clock: Option<DateTime<Utc>>,
    /// Accepted credentials; empty accepts any non-empty one.
    pub tokens: Vec<String>,
    /// Protects `/__admin` when set.
    pub admin_token: Option<String>,
    /// Check every answer against its document; violations are logged and journaled.
    pub validate_responses: bool,
    /// Requests the journal keeps (the oldest are dropped and counted).
    pub journal_size: usize,
    /// Outgoing webhooks: workers, queue bound, timeout, time scale.
    pub delivery: delivery::Settings,
    /// Also refuse unknown query parameters and undocumented body fields.
    pub strict: bool,
    /// `--latency MIN..MAX`: added to every answer, drawn uniformly.
    pub latency: Option<std::ops::RangeInclusive<Duration>>,
    /// `--record FILE`: capture what is sent to `/__sink/...`.
    pub record: Option<recorder::Settings>,
    /// `--state-file FILE`: the stores loaded from it at start and saved to it after changes.
    pub state_file: Option<PathBuf>,
    /// `--spec`: documents served beside (or, without `bundled`, instead of) the bundled ones.
    pub specs: Vec<SpecSource>,
    /// Serve the bundled vendor APIs (`--no-bundled` turns them off).
    pub bundled: bool,
    /// `--watch`: reload the `--spec` documents when their files change.
    pub watch: bool,
    /// `--overlay`: OpenAPI Overlay 1.0 files applied to every `--spec` document.
    pub overlays: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 4010,
            apis: Vec::new(),
            max_body: 1024 * 1024,
            cors: true,
            fixtures: Fixtures::Embedded,
            clock: None,
            tokens: Vec::new(),
            admin_token: None,
            validate_responses: false,
            journal_size: crate::journal::DEFAULT_CAPACITY,
            delivery: delivery::Settings::default(),
            record: None,
            state_file: None,
            strict: false,
            latency: None,
            specs: Vec::new(),
            bundled: true,
            watch: false,
            overlays: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("unknown API {0:?}; bundled APIs: {1}")]
    UnknownApi(String, String),
    #[error("the bundled documents do not compile: {0}")]
    Contracts(#[from] CompileError),
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error("the route table is inconsistent: {0}")]
    Routes(#[from] crate::router::RouteConflict),
    #[error(transparent)]
    Spec(#[from] LoadError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Recorder(#[from] RecorderError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    StateFile(#[from] StateFileError),
}

/// The application [`app`] builds.
pub struct App {
    pub router: Router,
    pub engine: Engine,
    /// Ends the recorder's event streams when the server stops.
    pub closing: Closing,
    /// With `--state-file`: already loaded, and kept saved.
    pub state_file: Option<Arc<StateFile>>,
}

/// The application: the one router with its shared state, the delivery engine it feeds, and
/// the state file. Starts the delivery workers and the saver, so it must run inside the Tokio
/// runtime.
pub fn app(config: &Config) -> Result<App, StartError> {
    for name in &config.apis {
        known_api(name)?;
    }
    let serves = |api: &str| {
        config.bundled && (config.apis.is_empty() || config.apis.iter().any(|a| a == api))
    };
    let context = Arc::new(match config.clock {
        Some(at) => Context::frozen(at),
        None => Context::live(),
    });
    let engine = Engine::start(context.clone(), config.delivery.clone());
    let flow_runs = Arc::new(FlowRuns::new(crate::journal::DEFAULT_CAPACITY));
    let mut wiring = Wiring {
        flow_runs: flow_runs.clone(),
        context: context.clone(),
        engine: engine.clone(),
        stores: Stores::default(),
        emitters: Emitters::default(),
        generic: Vec::new(),
    };
    let apis = crate::apis::new(&mut wiring, &config.fixtures)?;
    let vendor_routes = crate::apis::routes(&apis);
    let journal = Arc::new(Journal::new(config.journal_size));
    let violations = Arc::new(Violations::new(config.journal_size));
    let coverage = Arc::new(Coverage::default());
    let faults = Arc::new(Faults::new(config.latency.clone()));
    let settings = Settings {
        bundled: DOCUMENTS
            .iter()
            .map(|d| d.api)
            .filter(|a| serves(a))
            .collect(),
        responses: config.validate_responses,
        strict: config.strict,
        bundled_state: wiring.generic.clone(),
    };
    let documents = crate::specs::load_all(&config.specs, &config.overlays)?;
    for doc in &documents {
        wiring
            .stores
            .add(doc.loaded.api, "collections", doc.state.clone());
    }
    let reloads = Arc::new(Reloads::default());
    let loaded_at = crate::clock::format(context.now());
    for doc in &documents {
        reloads.loaded(doc.loaded.api, loaded_at.clone());
    }
    let catalog = Arc::new(ArcSwap::from_pointee(Catalog::build(&settings, documents)?));
    if config.watch && !config.specs.is_empty() {
        crate::specs::watch(
            catalog.clone(),
            settings,
            config.specs.clone(),
            config.overlays.clone(),
            reloads.clone(),
            context.clone(),
        );
    }
    let edge = Edge {
        catalog: catalog.clone(),
        apis,
        context: context.clone(),
        journal: journal.clone(),
        violations: violations.clone(),
        coverage: coverage.clone(),
        faults: faults.clone(),
        tokens: config.tokens.clone(),
        max_body: config.max_body,
        validate_responses: config.validate_responses,
    };
    let closing = Closing::default();
    let sink = config
        .record
        .clone()
        .map(|settings| open_sink(settings, &context, "/__sink/", &closing))
        .transpose()?;
    let stores = Arc::new(wiring.stores);
    let state_file = match &config.state_file {
        Some(path) => {
            let file = StateFile::open(path.clone(), stores.clone())?;
            file.keep_saved();
            Some(file)
        }
        None => None,
    };
    let admin = Arc::new(Admin {
        sink: sink.clone(),
        stores,
        emitters: wiring.emitters,
        engine: engine.clone(),
        flow_runs,
        journal,
        violations,
        coverage,
        faults,
        catalog,
        reloads,
        context: context.clone(),
        token: config.admin_token.clone(),
    });
    let router = Router::new()
        .fallback(handle)
        .with_state(Arc::new(edge))
        .merge(vendor_routes)
        .merge(sink.map(sink_routes).unwrap_or_default())
        .merge(crate::admin::ui_router(admin.clone()))
        .nest("/__admin", crate::admin::router(admin));
    // Browser frontends call the fake from another origin; preflights must succeed.
    let router = if config.cors {
        router.layer(CorsLayer::very_permissive())
    } else {
        router
    };
    Ok(App {
        router,
        engine,
        closing,
        state_file,
    })
}

/// `hookmock check-receiver`: the vendors' emitters (as a server would build them) grading a
/// receiver. With `seed`, identifiers are drawn from it; with `clock`, payload times are frozen
/// (signatures are always made now: a receiver checks them against its own clock).
pub async fn check_receiver(
    options: &crate::receiver::Options,
    seed: Option<u64>,
    clock: Option<DateTime<Utc>>,
) -> Result<crate::receiver::Report, crate::receiver::CheckError> {
    let context = Arc::new(match (seed, clock) {
        (None, None) => Context::live(),
        (seed, clock) => Context::seeded(seed.unwrap_or(0), clock),
    });
    let mut wiring = Wiring {
        flow_runs: Arc::new(FlowRuns::new(1)),
        context: context.clone(),
        engine: Engine::start(context.clone(), delivery::Settings::default()),
        stores: Stores::default(),
        emitters: Emitters::default(),
        generic: Vec::new(),
    };
    crate::apis::new(&mut wiring, &Fixtures::None)
        .map_err(|e| crate::receiver::CheckError::Probe(e.to_string()))?;
    crate::receiver::check(&wiring.emitters, options, &context).await
}

/// `name` if a bundled document has it, else the error that names the bundled ones.
fn known_api(name: &str) -> Result<(), StartError> {
    if DOCUMENTS.iter().any(|d| d.api == name) {
        return Ok(());
    }
    Err(StartError::UnknownApi(name.to_owned(), bundled_names()))
}

fn bundled_names() -> String {
    DOCUMENTS
        .iter()
        .map(|d| d.api)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The recorder of `settings` behind its HTTP handlers, capturing below `prefix`; with
/// `--fsync batch`, synced every second.
fn open_sink(
    settings: recorder::Settings,
    context: &Arc<Context>,
    prefix: &'static str,
    closing: &Closing,
) -> Result<Arc<Sink>, RecorderError> {
    let recorder = Arc::new(Recorder::open(settings)?);
    if recorder.fsync_mode() == Fsync::Batch {
        let syncing = recorder.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let recorder = syncing.clone();
                let _ = tokio::task::spawn_blocking(move || recorder.sync()).await;
            }
        });
    }
    Ok(Sink::new(
        recorder,
        context.clone(),
        prefix,
        closing.clone(),
    ))
}

/// `/__sink` and everything below it, captured.
fn sink_routes(sink: Arc<Sink>) -> Router {
    Router::new()
        .route("/__sink", any(capture))
        .route("/__sink/{*rest}", any(capture))
        .with_state(sink)
}

/// `hookmock record`: the sink alone. Every request is captured, except `/__admin/...`.
pub fn recorder_app(settings: recorder::Settings, closing: &Closing) -> Result<Router, StartError> {
    let sink = open_sink(settings, &Arc::new(Context::live()), "/", closing)?;
    Ok(Router::new()
        .fallback(capture)
        .with_state(sink.clone())
        .route("/__ui", axum::routing::get(crate::ui::page))
        .nest("/__admin", crate::recorder::sink::admin_routes(sink)))
}

/// A bound, not yet running server.
pub struct Bound {
    listener: TcpListener,
    router: Router,
    engine: Engine,
    closing: Closing,
    limits: Limits,
    state_file: Option<Arc<StateFile>>,
}

impl Bound {
    pub async fn new(config: &Config) -> Result<Self, StartError> {
        let app = app(config)?;
        let bound = Self::bind(
            app.router,
            app.engine,
            app.closing,
            SocketAddr::new(config.host, config.port),
        );
        Ok(Self {
            state_file: app.state_file,
            ..bound.await?
        })
    }

    /// `hookmock record` on `addr`.
    pub async fn recorder(
        settings: recorder::Settings,
        addr: SocketAddr,
    ) -> Result<Self, StartError> {
        let context = Arc::new(Context::live());
        let engine = Engine::start(context, delivery::Settings::default());
        let closing = Closing::default();
        let router = recorder_app(settings, &closing)?;
        Self::bind(router, engine, closing, addr).await
    }

    /// `hookmock proxy` on `addr`: `api`'s requests forwarded to `upstream`, both ways
    /// checked; `api` is a bundled API, or the document of `spec`.
    pub async fn proxy(
        api: Option<&str>,
        spec: Option<&SpecSource>,
        upstream: &str,
        addr: SocketAddr,
        journal_size: usize,
    ) -> Result<Self, StartError> {
        let documents =
            crate::specs::load_all(&spec.cloned().into_iter().collect::<Vec<_>>(), &[])?;
        let name = match (api, documents.first()) {
            (Some(api), _) => {
                known_api(api)?;
                api.to_owned()
            }
            (None, Some(doc)) => doc.loaded.api.to_owned(),
            (None, None) => return Err(StartError::UnknownApi(String::new(), bundled_names())),
        };
        let settings = Settings {
            bundled: DOCUMENTS
                .iter()
                .map(|d| d.api)
                .filter(|a| *a == name)
                .collect(),
            responses: true,
            strict: false,
            bundled_state: Vec::new(),
        };
        let catalog = Catalog::build(&settings, documents)?;
        let engine = Engine::start(Arc::new(Context::live()), delivery::Settings::default());
        Self::bind(
            crate::proxy::app(&name, upstream, catalog, journal_size),
            engine,
            Closing::default(),
            addr,
        )
        .await
    }

    async fn bind(
        router: Router,
        engine: Engine,
        closing: Closing,
        addr: SocketAddr,
    ) -> Result<Self, StartError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| StartError::Bind(addr, e))?;
        Ok(Self {
            listener,
            router,
            engine,
            closing,
            limits: Limits::default(),
            state_file: None,
        })
    }

    /// Connection limits other than the defaults (`--max-connections`, `--header-timeout`,
    /// `--body-timeout`).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish and gives the
    /// delivery attempts in flight up to `drain` to finish. Answers how many deliveries were
    /// still pending (in flight, queued or waiting to be retried).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        drain: Duration,
    ) -> std::io::Result<usize> {
        crate::limits::serve(
            self.listener,
            self.router,
            self.limits,
            shutdown,
            &self.closing,
        )
        .await;
        let pending = self.engine.drain(drain).await;
        if let Some(file) = self.state_file {
            file.save_off_the_runtime().await;
        }
        Ok(pending)
    }
}
