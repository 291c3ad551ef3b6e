//! Extractors whose rejections are problem documents.

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON body (`deny_unknown_fields` on every request type); a bad body is a 400/413/415/422
/// problem.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// Query parameters; malformed ones are a 400 problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Path parameters; malformed ones are a 400 problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
