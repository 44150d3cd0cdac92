//! WeChat errcodes, their classes and what to do about them (to be written).
