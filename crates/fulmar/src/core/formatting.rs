//! Placeholder: filled by the work that owns this domain service.
