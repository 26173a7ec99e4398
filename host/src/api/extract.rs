//! Request extractors whose refusals are problem+json like every other error: a JSON body
//! (any content type, so `curl -d` works; malformed JSON 400, JSON that does not fit the
//! schema 422, over the route's limit 413), an optional JSON body (empty means defaults), and
//! query and path parameters (400).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Problem};

/// A JSON body.
#[derive(Debug)]
pub struct Body<T>(pub T);

/// A JSON body that may be absent (or empty): then `T::default()`.
#[derive(Debug)]
pub struct OptionalBody<T>(pub T);

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Problem::PayloadTooLarge,
            "the body exceeds this route's size limit",
        )
    } else {
        ApiError::new(Problem::MalformedRequest, rejection.body_text())
    }
}

/// Parses JSON, telling syntax (400) from schema (422) errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::new(Problem::InvalidBody, format!("invalid body: {e}")),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::new(Problem::MalformedRequest, format!("malformed JSON: {e}"))
            }
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::new(
                Problem::MalformedRequest,
                "this route needs a JSON body",
            ));
        }
        parse_json(&bytes).map(Body)
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        parse_json(&bytes).map(OptionalBody)
    }
}

/// Query parameters.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ApiError::new(Problem::MalformedRequest, e.body_text()))
    }
}

/// Path parameters.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e| ApiError::new(Problem::MalformedRequest, e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Reason {
        reason: String,
        boundary: Option<u64>,
    }

    #[test]
    fn syntax_is_400_and_schema_is_422() {
        let problem = |body: &str| parse_json::<Reason>(body.as_bytes()).unwrap_err().problem;
        assert_eq!(problem("{"), Problem::MalformedRequest);
        assert_eq!(problem("{\"reason\": 1e999}"), Problem::MalformedRequest);
        assert_eq!(
            problem("{\"reason\": \"x\", \"extra\": 1}"),
            Problem::InvalidBody
        );
        assert_eq!(problem("{\"reason\": 3}"), Problem::InvalidBody);
        assert_eq!(
            problem("{\"reason\": \"x\", \"boundary\": -1}"),
            Problem::InvalidBody
        );
        assert_eq!(
            problem("{\"reason\": \"x\", \"boundary\": \"NaN\"}"),
            Problem::InvalidBody
        );
        assert!(parse_json::<Reason>(b"{\"reason\": \"x\"}").is_ok());
    }
}
