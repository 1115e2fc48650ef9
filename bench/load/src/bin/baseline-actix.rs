//! Hand-written actix-web receiver, the baseline of `examples/actix` (see the crate docs).

#![forbid(unsafe_code)]

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use meetingbaas_bench_load::{
    Careful, MAX_BODY_BYTES, ROUTE, announce, fail, naive_from_env, naive_receive, port_from_env,
    secret_from_env,
};

/// The secret, and the careful receiver unless `BASELINE=naive`.
struct Receiver {
    secret: String,
    careful: Option<Careful>,
}

#[actix_web::main]
async fn main() {
    let secret = secret_from_env();
    let careful = (!naive_from_env()).then(|| Careful::new(&secret));
    let secret = web::Data::new(Receiver { secret, careful });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(secret.clone())
            // actix-web's default payload limit is 256 KiB: raised like the core's default.
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route(ROUTE, web::post().to(receive))
    })
    // The same worker count as examples/actix.
    .workers(2)
    .bind(("127.0.0.1", port_from_env()))
    .unwrap_or_else(|err| fail(err));
    let addr = server
        .addrs()
        .into_iter()
        .next()
        .unwrap_or_else(|| fail("bound to no address"));
    announce(addr);
    if let Err(err) = server.run().await {
        fail(err);
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    receiver: web::Data<Receiver>,
) -> HttpResponse {
    let signature = req.headers().get("x-meetingbaas-signature");
    let (status, reply) = match &receiver.careful {
        Some(careful) => careful.receive(signature.map(|value| value.as_bytes()), &body),
        None => naive_receive(
            &receiver.secret,
            signature.and_then(|value| value.to_str().ok()),
            &body,
        ),
    };
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(reply)
}
