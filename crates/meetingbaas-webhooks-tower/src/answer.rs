//! The pipeline's own answers as responses of this crate's body type.

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use meetingbaas_webhooks_receiver::Answer;

/// `answer` as a response (see [`Answer::into_response`]).
pub(crate) fn response(answer: Answer) -> Response<Full<Bytes>> {
    answer.into_response().map(Full::new)
}
