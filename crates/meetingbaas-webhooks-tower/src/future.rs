use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_service::Service;

use meetingbaas_webhooks::idempotency::{Begin, BeginFuture, ClaimGuard, FinishFuture};

use crate::admission::Config;
use crate::answer::Answer;
use crate::collect::CollectUnderLimit;
use crate::{ResponseBody, VerifiedBody};

pin_project! {
    /// Response future of [`VerifyWebhook`](crate::VerifyWebhook): reads the body, verifies it,
    /// then either calls the inner service or answers itself.
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
        Collecting {
            #[pin]
            body: CollectUnderLimit<B>,
            parts: Parts,
            inner: S,
            config: Config,
        },
        Claiming {
            claim: BeginFuture,
            request: Option<Request<VerifiedBody>>,
            inner: S,
        },
        Calling {
            #[pin]
            future: S::Future,
            // Dropped unfinished (an error, a panic, a dropped request): released.
            guard: Option<ClaimGuard>,
        },
        Finishing {
            finish: FinishFuture,
            response: Option<S::Response>,
        },
        Answering {
            answer: Answer,
        },
        Done,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    pub(crate) fn collect(
        body: CollectUnderLimit<B>,
        parts: Parts,
        inner: S,
        config: Config,
    ) -> Self {
        ResponseFuture {
            state: State::Collecting {
                body,
                parts,
                inner,
                config,
            },
        }
    }

    pub(crate) fn answer(answer: Answer) -> Self {
        ResponseFuture {
            state: State::Answering { answer },
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
                StateProj::Collecting { body, .. } => {
                    let collected = ready!(body.poll(cx));
                    let StateProjReplace::Collecting {
                        mut parts,
                        mut inner,
                        config,
                        ..
                    } = state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Collecting` a moment ago")
                    };
                    let admitted = collected
                        .map_err(|err| Answer::Reject(err.into()))
                        .and_then(|bytes| {
                            // `verify` keeps one reference to the buffer, the request another:
                            // the same bytes, never copied.
                            config
                                .admit(&parts.headers, &mut parts.extensions, bytes.clone())
                                .map(|claim| (bytes, claim))
                        });
                    match admitted {
                        Ok((bytes, claim)) => {
                            let request = Request::from_parts(parts, Full::new(bytes));
                            match claim {
                                None => {
                                    let future = inner.call(request);
                                    state.set(State::Calling {
                                        future,
                                        guard: None,
                                    });
                                }
                                Some(claim) => state.set(State::Claiming {
                                    claim,
                                    request: Some(request),
                                    inner,
                                }),
                            }
                        }
                        Err(answer) => state.set(State::Answering { answer }),
                    }
                }
                StateProj::Claiming {
                    claim,
                    request,
                    inner,
                } => match ready!(claim.as_mut().poll(cx)) {
                    Ok(Begin::Proceed(guard)) => {
                        let request = request.take().expect("the request waits for its claim");
                        let future = inner.call(request);
                        state.set(State::Calling {
                            future,
                            guard: Some(guard),
                        });
                    }
                    Ok(Begin::Duplicate) => state.set(State::Answering {
                        answer: Answer::Duplicate,
                    }),
                    Err(err) => state.set(State::Answering {
                        answer: Answer::Reject(err.into()),
                    }),
                },
                StateProj::Calling { future, guard } => {
                    let response = match ready!(future.poll(cx)) {
                        Ok(response) => response,
                        Err(err) => {
                            // Releases the claim (if any) now, so that the retry is processed.
                            state.set(State::Done);
                            return Poll::Ready(Err(err));
                        }
                    };
                    match guard.take() {
                        None => {
                            state.set(State::Done);
                            return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                        }
                        Some(guard) => {
                            let finish = guard.finish(response.status().is_success());
                            state.set(State::Finishing {
                                finish,
                                response: Some(response),
                            });
                        }
                    }
                }
                StateProj::Finishing { finish, response } => {
                    ready!(finish.as_mut().poll(cx));
                    let response = response.take().expect("the response waits for its claim");
                    state.set(State::Done);
                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                }
                StateProj::Answering { .. } => {
                    let StateProjReplace::Answering { answer } =
                        state.as_mut().project_replace(State::Done)
                    else {
                        unreachable!("the state was `Answering` a moment ago")
                    };
                    return Poll::Ready(Ok(answer.into_response().map(ResponseBody::answer)));
                }
                StateProj::Done => panic!("`ResponseFuture` polled after completion"),
            }
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Collecting { .. } => "collecting",
            State::Claiming { .. } => "claiming",
            State::Calling { .. } => "calling",
            State::Finishing { .. } => "finishing",
            State::Answering { .. } => "answering",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}
