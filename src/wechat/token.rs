//! Access-token sources and the token cache (to be written).
