//! The datacube HTTP client (temporary stub; replaced by the client branch).

use super::error::Error;
use super::{DateRange, Endpoint, Parsed};

pub trait CallObserver: Send + Sync {
    fn api_call(&self, api: &str, errcode_label: &str);
    fn token_fetch(&self, source_kind: &str, errcode_label: &str);
}

pub struct Client;

impl Client {
    pub async fn fetch_range(
        &self,
        _endpoint: Endpoint,
        _range: DateRange,
    ) -> Result<Parsed, Error> {
        unimplemented!()
    }
}
