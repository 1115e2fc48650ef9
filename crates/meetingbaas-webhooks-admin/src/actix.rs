//! The admin in actix-web (feature `actix`): [`scope`] mounts it at a path.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use http_body_util::BodyExt as _;

use crate::Admin;

/// The admin at `path` (give the admin the same [`mounted_at`](Admin::mounted_at)): every
/// method and every path under it.
///
/// ```no_run
/// use actix_web::App;
/// use meetingbaas_webhooks_admin::{Admin, Guard};
/// use meetingbaas_webhooks_inbox::Inbox;
///
/// # fn app(inbox: Inbox) {
/// let admin = Admin::new(inbox, Guard::token("a long random token")).mounted_at("/admin");
/// let app = App::new().service(meetingbaas_webhooks_admin::actix::scope("/admin", admin));
/// # drop(app);
/// # }
/// ```
pub fn scope(path: &str, admin: Admin) -> actix_web::Scope {
    web::scope(path).default_service(web::to(move |req: HttpRequest, body: Bytes| {
        let admin = admin.clone();
        async move { answer(&admin, &req, body).await }
    }))
}

async fn answer(admin: &Admin, req: &HttpRequest, body: Bytes) -> HttpResponse {
    let mut request = http::Request::new(http_body_util::Full::new(body));
    *request.method_mut() =
        http::Method::from_bytes(req.method().as_str().as_bytes()).unwrap_or(http::Method::GET);
    match req.uri().to_string().parse() {
        Ok(uri) => *request.uri_mut() = uri,
        Err(_) => return HttpResponse::BadRequest().finish(),
    }
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            request.headers_mut().append(name, value);
        }
    }
    let (parts, body) = admin.answer(request).await.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        response.append_header((name.as_str(), value.as_bytes()));
    }
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    response.body(body)
}
