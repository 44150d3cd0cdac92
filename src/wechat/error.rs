//! WeChat errcodes, their classes and what to do about them (temporary stub; replaced by the client branch).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    Transient,
    Token,
    Quota,
    NotReady,
    Offline,
    Unauthorized,
    Permanent,
    ClientBug,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("WeChat {api} answered errcode {errcode}: {errmsg}")]
    Api {
        api: String,
        errcode: i64,
        errmsg: String,
    },
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
    pub fn errcode(&self) -> Option<i64> {
        None
    }
    pub fn label(&self) -> String {
        String::new()
    }
}
