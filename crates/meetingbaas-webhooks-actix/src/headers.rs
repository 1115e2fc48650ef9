//! actix-web's header map (on `http` 0.2), seen by the core.

use actix_web::http::header::HeaderMap;
use meetingbaas_webhooks::HeaderLookup;

/// A request's headers as the core reads them.
pub(crate) struct ActixHeaders<'a>(pub(crate) &'a HeaderMap);

impl HeaderLookup for ActixHeaders<'_> {
    fn header_values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(name).map(|value| value.as_bytes())
    }
}
