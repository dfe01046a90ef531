//! Placeholder: filled by the work that owns this table group.
