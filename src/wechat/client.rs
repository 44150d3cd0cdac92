//! The datacube HTTP client (to be written).
