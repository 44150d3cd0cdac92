//! Maps typed reports to metric families, keeps the pre-encoded exposition (to be written).
