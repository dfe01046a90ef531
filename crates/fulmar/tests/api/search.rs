//! Tests of this resource are added by the work on it.
