//! `listen`: a local verifying receiver for development.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use meetingbaas_webhooks::Scheme;
use meetingbaas_webhooks_receiver::EndpointConfig;

use crate::client::Target;
use crate::credentials;
use crate::failure::Failure;
use crate::output;
use crate::receiver::{self, Receiver, Report};

/// What `listen` was asked.
pub(crate) struct Options {
    pub(crate) port: u16,
    pub(crate) scheme: Option<Scheme>,
    pub(crate) secret: Option<String>,
    pub(crate) json: bool,
    pub(crate) forward_to: Option<String>,
    /// `--config`: the endpoint JSON.
    pub(crate) config: Option<PathBuf>,
    /// `--tls-cert` and `--tls-key`.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
}

/// Serves until Ctrl-C.
pub(crate) async fn run(options: Options) -> Result<ExitCode, Failure> {
    let config = options
        .config
        .map(|path| {
            EndpointConfig::from_path_and_env(Some(path), |name| std::env::var(name).ok())
                .map_err(|err| Failure::usage(err.to_string()))
        })
        .transpose()?;
    let verifier = match &config {
        Some(config) => config.verifier().clone(),
        None => credentials::verifier(options.scheme, options.secret, |builder| builder)?,
    };
    let tls = options
        .tls
        .map(|(cert, key)| crate::tls::acceptor(&cert, &key))
        .transpose()?;
    let forward = options
        .forward_to
        .as_deref()
        .map(Target::parse)
        .transpose()
        .map_err(Failure::usage)?;
    let (listener, address) = receiver::bind(options.port).await?;

    let report = if options.json {
        Report::JsonLines
    } else {
        Report::Lines
    };
    let mut receiver = match &config {
        Some(config) => Receiver::with_pipeline(config.pipeline(), report).route(config.route()),
        None => Receiver::new(verifier.clone(), report),
    };
    let forwarding = match forward {
        Some(target) => {
            let note = format!("forwarding verified deliveries to {}", target.url());
            receiver = receiver.forward_to(target);
            note
        }
        None => "not forwarding".to_owned(),
    };
    // The first stdout line, always: scripts and tests read the bound port from it.
    let scheme = if tls.is_some() { "https" } else { "http" };
    output::out(format!("listening on {scheme}://{address}"));
    let schemes: Vec<&str> = verifier.schemes().map(Scheme::as_str).collect();
    let paths = match &config {
        Some(config) => format!("POST to {scheme}://{address}{}", config.route()),
        None => format!("POST to any path, e.g. {scheme}://{address}/webhooks/meetingbaas"),
    };
    let events = match config.as_ref().and_then(EndpointConfig::events) {
        Some(events) => {
            let names: Vec<&str> = events.iter().map(|name| name.as_str()).collect();
            format!(
                " events {} (and their synonyms; others ignored),",
                names.join(", ")
            )
        }
        None => String::new(),
    };
    let disabled = if config.as_ref().is_some_and(|config| !config.enabled()) {
        " DISABLED (`enabled: false`: every delivery is answered 503),"
    } else {
        ""
    };
    output::err(format!(
        "verifying {} (body limit {} bytes),{events}{disabled} {forwarding}; {paths}; Ctrl-C to stop",
        schemes.join(", "),
        verifier.max_body_bytes()
    ));

    let server = tokio::spawn(Arc::new(receiver).serve(listener, tls));
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handler: run until killed.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = stop => {}
        _ = server => {}
    }
    Ok(ExitCode::SUCCESS)
}
