//! `listen`: a local verifying receiver for development.

use std::process::ExitCode;
use std::sync::Arc;

use meetingbaas_webhooks::Scheme;

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
}

/// Serves until Ctrl-C.
pub(crate) async fn run(options: Options) -> Result<ExitCode, Failure> {
    let verifier = credentials::verifier(options.scheme, options.secret, |builder| builder)?;
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
    let mut receiver = Receiver::new(verifier.clone(), report);
    let forwarding = match forward {
        Some(target) => {
            let note = format!("forwarding verified deliveries to {}", target.url());
            receiver = receiver.forward_to(target);
            note
        }
        None => "not forwarding".to_owned(),
    };
    // The first stdout line, always: scripts and tests read the bound port from it.
    output::out(format!("listening on http://{address}"));
    let schemes: Vec<&str> = verifier.schemes().map(Scheme::as_str).collect();
    output::err(format!(
        "verifying {} (body limit {} bytes), {forwarding}; POST to any path, e.g. \
         http://{address}/webhooks/meetingbaas; Ctrl-C to stop",
        schemes.join(", "),
        verifier.max_body_bytes()
    ));

    let server = tokio::spawn(Arc::new(receiver).serve(listener));
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
