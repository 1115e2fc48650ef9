use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyDataStream, Full};
use meetingbaas_webhooks_receiver::{Admission, Admit, Answer, Completion, Finish, Pipeline, Read};
use pin_project_lite::pin_project;
use serde::de::IgnoredAny;
use tower_service::Service;

use crate::answer::response;
use crate::{ResponseBody, VerifiedBody};

pin_project! {
    /// Response future of [`VerifyWebhook`](crate::VerifyWebhook): reads the body with the
    /// pipeline, admits it, then either calls the inner service and finishes the delivery with
    /// its status, or gives the pipeline's own answer.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<VerifiedBody>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    #[project_replace = StateProjReplace]
    enum State<S, B>
    where
        S: Service<Request<VerifiedBody>>,
    {
        Reading {
            #[pin]
            read: Read<BodyDataStream<B>>,
            parts: Parts,
            inner: S,
            pipeline: Pipeline,
        },
        Admitting {
            admit: Admit<IgnoredAny>,
            parts: Parts,
            inner: S,
        },
        Calling {
            #[pin]
            future: S::Future,
            // Dropped unfinished (an error, a panic, a dropped request): the claim is released.
            completion: Option<Completion>,
        },
        Finishing {
            finish: Finish,
            response: Option<S::Response>,
        },
        Done,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    pub(crate) fn new(
        read: Read<BodyDataStream<B>>,
        parts: Parts,
        inner: S,
        pipeline: Pipeline,
    ) -> Self {
        ResponseFuture {
            state: State::Reading {
                read,
                parts,
                inner,
                pipeline,
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Reading { read, .. } => {
                    let received = ready!(read.poll(cx));
                    let StateProjReplace::Reading {
                        parts,
                        inner,
                        pipeline,
                        ..
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Reading` a moment ago")
                    };
                    match received {
                        Ok(received) => {
                            let admit = pipeline.admit(&parts.headers, received);
                            state.set(State::Admitting {
                                admit,
                                parts,
                                inner,
                            });
                        }
                        Err(answer) => return Poll::Ready(Ok(answered(answer))),
                    }
                }
                StateProj::Admitting { admit, .. } => {
                    let admitted = ready!(Pin::new(admit).poll(cx));
                    let StateProjReplace::Admitting {
                        mut parts,
                        mut inner,
                        ..
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Admitting` a moment ago")
                    };
                    let ticket = match admitted {
                        Admission::Handle(ticket) => ticket,
                        Admission::Answered(answer) => return Poll::Ready(Ok(answered(answer))),
                    };
                    let (delivery, event, IgnoredAny, completion) = ticket.into_parts();
                    // The request gets the very buffer the delivery holds: never copied.
                    let body = Full::new(delivery.body().clone());
                    parts.extensions.insert(delivery);
                    if let Some(event) = event {
                        parts.extensions.insert(event);
                    }
                    let future = inner.call(Request::from_parts(parts, body));
                    state.set(State::Calling {
                        future,
                        completion: Some(completion),
                    });
                }
                StateProj::Calling { future, completion } => {
                    // The inner service runs in the delivery's span.
                    let entered = completion.as_ref().map(|c| c.span().enter());
                    let polled = future.poll(cx);
                    drop(entered);
                    // An error drops the completion unfinished: the claim is released now, so
                    // that the retry is processed.
                    let response = ready!(polled)?;
                    let Some(completion) = completion.take() else {
                        unreachable!("the completion waits for the response")
                    };
                    let finish = completion.finish(response.status().as_u16());
                    state.set(State::Finishing {
                        finish,
                        response: Some(response),
                    });
                }
                StateProj::Finishing { finish, response } => {
                    let outcome = ready!(Pin::new(finish).poll(cx));
                    let Some(mut response) = response.take() else {
                        unreachable!("the response waits for its completion")
                    };
                    response.extensions_mut().insert(outcome);
                    state.set(State::Done);
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Done => panic!("`ResponseFuture` polled after completion"),
            }
        }
    }
}

fn answered<B>(answer: Answer) -> Response<ResponseBody<B>> {
    response(answer).map(ResponseBody::answer)
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Reading { .. } => "reading",
            State::Admitting { .. } => "admitting",
            State::Calling { .. } => "calling",
            State::Finishing { .. } => "finishing",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
