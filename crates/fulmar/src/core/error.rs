//! The domain's one error type. The HTTP layer maps it to status codes in one place
//! (`http::error`), the CLI to exit codes in another.

use std::borrow::Cow;

use fulmar_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Input that breaks a rule; the text is shown to the user.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
    /// Something that must be unique already exists; the text is shown to the user.
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::Internal(e.into())
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
