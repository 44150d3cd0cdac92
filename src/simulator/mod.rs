//! A deterministic simulator of the WeChat datacube and token API (to be written).
