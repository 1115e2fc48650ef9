//! Hand-written actix-web receiver, the baseline of `examples/actix` (see the crate docs).

#![forbid(unsafe_code)]

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use meetingbaas_bench_load::{
    MAX_BODY_BYTES, ROUTE, announce, fail, naive_receive, port_from_env, secret_from_env,
};

#[actix_web::main]
async fn main() {
    let secret = web::Data::new(secret_from_env());
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

async fn receive(req: HttpRequest, body: web::Bytes, secret: web::Data<String>) -> HttpResponse {
    let signature = req
        .headers()
        .get("x-meetingbaas-signature")
        .and_then(|value| value.to_str().ok());
    let (status, reply) = naive_receive(&secret, signature, &body);
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(reply)
}
