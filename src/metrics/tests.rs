//! Tests of the store and the mapping against the documented examples.
